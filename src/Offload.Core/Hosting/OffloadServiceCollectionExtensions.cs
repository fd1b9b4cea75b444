using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Offload.Hosting;

/// <summary>Registers the hosted Offload switch.</summary>
public static class OffloadServiceCollectionExtensions
{
    /// <summary>
    /// Adds the Offload switch: <see cref="OffloadOptions"/> (validated when the host starts), the
    /// <see cref="OffloadRuntime"/> singleton, and the <see cref="OffloadHostedService"/> that owns its lifetime.
    /// Uses the registered <see cref="TimeProvider"/> (the system clock when none is), the application's
    /// <see cref="Offload.Datapath.IFrameSink"/> when one is registered, and the <c>IMeterFactory</c> when one is.
    /// </summary>
    public static IOffloadBuilder AddOffload(this IServiceCollection services, Action<OffloadOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<OffloadOptions>();
        if (configure is not null)
            options.Configure(configure);
        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<OffloadOptions>, OffloadOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<OffloadRuntime>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, OffloadHostedService>());
        return new OffloadBuilder(services);
    }
}
