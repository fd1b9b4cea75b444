using Microsoft.Extensions.DependencyInjection;
using Offload.Hosting;

namespace Offload.Doca.Hosting;

/// <summary>Registers the DOCA backend with the hosted switch.</summary>
public static class DocaOffloadBuilderExtensions
{
    /// <summary>
    /// Makes <c>Backend = Doca</c> and <c>Backend = Auto</c> usable: registers <see cref="DocaBackendFactory"/> (once),
    /// configured by <paramref name="configure"/>. With <c>Auto</c>, a host without DOCA runs the software backend and
    /// the reason (<see cref="DocaLibrary.NotSupportedReason"/>) is logged.
    /// </summary>
    public static IOffloadBuilder AddDoca(this IOffloadBuilder builder, Action<DocaHostingOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<DocaHostingOptions>();
        if (configure is not null)
            options.Configure(configure);
        return builder.AddBackendFactory<DocaBackendFactory>();
    }
}
