using Microsoft.Extensions.DependencyInjection;
using Offload.Hosting;

namespace Offload.Kernel.Hosting;

/// <summary>Registers the Linux kernel slow path with the hosted switch.</summary>
public static class KernelOffloadBuilderExtensions
{
    /// <summary>
    /// Makes <c>SlowPath = Kernel</c> usable: registers <see cref="KernelSlowPathFactory"/> (once), configured by
    /// <paramref name="configure"/>. It needs Linux, root (CAP_NET_ADMIN) and libnftables; start fails with the reason
    /// otherwise.
    /// </summary>
    public static IOffloadBuilder AddKernelSlowPath(this IOffloadBuilder builder, Action<KernelHostingOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<KernelHostingOptions>();
        if (configure is not null)
            options.Configure(configure);
        return builder.AddSlowPathFactory<KernelSlowPathFactory>();
    }
}
