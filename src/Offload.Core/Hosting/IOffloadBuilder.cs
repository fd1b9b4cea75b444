using Microsoft.Extensions.DependencyInjection;

namespace Offload.Hosting;

/// <summary>Returned by <see cref="OffloadServiceCollectionExtensions.AddOffload"/>: further configuration of the hosted
/// switch (backend and slow-path factories, frame sink, options) through extension methods.</summary>
public interface IOffloadBuilder
{
    /// <summary>The application's services.</summary>
    IServiceCollection Services { get; }
}

internal sealed class OffloadBuilder(IServiceCollection services) : IOffloadBuilder
{
    public IServiceCollection Services { get; } = services;
}
