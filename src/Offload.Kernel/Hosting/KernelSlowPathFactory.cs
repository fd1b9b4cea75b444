using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Offload.Datapath;
using Offload.Hosting;
using Offload.Kernel.Namespaces;
using Offload.Kernel.Nftables;
using Offload.Kernel.SlowPath;
using Offload.Policy;

namespace Offload.Kernel.Hosting;

/// <summary>
/// Creates the kernel slow path for the hosted switch (<c>SlowPath = Kernel</c>): the host's emulated NICs, routes and
/// ruleset (<see cref="KernelHostTopology"/>), the adapter (<see cref="KernelSlowPath"/>), and — once the runtime has
/// made its datapath — the conntrack sync, with TCP FIN/RST punted to the kernel and the kernel's live connections
/// re-installed. Registered by <see cref="KernelOffloadBuilderExtensions.AddKernelSlowPath"/>.
/// </summary>
public sealed class KernelSlowPathFactory : IOffloadSlowPathFactory
{
    private readonly KernelHostingOptions _options;

    /// <summary>Creates the factory with the configured <see cref="KernelHostingOptions"/>.</summary>
    public KernelSlowPathFactory(IOptions<KernelHostingOptions> options) =>
        _options = options?.Value ?? throw new ArgumentNullException(nameof(options));

    /// <inheritdoc/>
    public string Name => "kernel";

    /// <inheritdoc/>
    public string? NotSupportedReason
    {
        get
        {
            if (!OperatingSystem.IsLinux())
                return "the kernel slow path needs Linux.";
            if (!Environment.IsPrivilegedProcess)
                return "the kernel slow path needs root (CAP_NET_ADMIN) to create TAP devices and load nftables.";
            return NftablesLibrary.NotSupportedReason;
        }
    }

    /// <inheritdoc/>
    public ISlowPath Create(OffloadComponentContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        _options.SlowPath.Validate();
        ILogger logger = context.Services.GetService<ILoggerFactory>()?.CreateLogger("Offload.Kernel") ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        return HostedKernelSlowPath.Start(context.Policy, context.Ports, _options, context.TimeProvider, logger);
    }

    /// <inheritdoc/>
    public void ConfigureDatapath(DatapathOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        // The kernel's TCP state machine must see the close, or its entry outlives the connection by days.
        options.PuntTcpTeardown = true;
    }

    /// <inheritdoc/>
    public void DatapathCreated(ISlowPath slowPath, Datapath.Datapath datapath)
    {
        ArgumentNullException.ThrowIfNull(datapath);
        if (slowPath is HostedKernelSlowPath hosted)
            hosted.Attach(datapath);
    }

    /// <inheritdoc/>
    public void ApplyPolicy(ISlowPath slowPath, PolicySnapshot policy)
    {
        if (slowPath is HostedKernelSlowPath hosted)
            hosted.Inner.ApplyPolicy(policy);
    }
}
