using Microsoft.Extensions.Logging;
using Offload.Actions;
using Offload.Conntrack;
using Offload.Datapath;
using Offload.Kernel.Namespaces;
using Offload.Kernel.SlowPath;
using Offload.Kernel.Sync;
using Offload.Policy;
using Offload.Switching;

namespace Offload.Kernel.Hosting;

/// <summary>
/// The kernel slow path as the hosted runtime owns it: the adapter plus what it needs around it — the namespace it
/// opened, the topology, and the conntrack sync bound to the runtime's datapath — all released by one Dispose.
/// </summary>
internal sealed class HostedKernelSlowPath : ISlowPath, ISlowPathObserver, IConnectionRevalidator, IDisposable
{
    private readonly NetworkNamespace? _namespace;
    private readonly KernelHostTopology _topology;
    private readonly KernelHostingOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private KernelConntrackSync? _sync;

    private HostedKernelSlowPath(NetworkNamespace? ns, KernelHostTopology topology, KernelSlowPath inner, KernelHostingOptions options,
        TimeProvider time, ILogger logger)
    {
        _namespace = ns;
        _topology = topology;
        Inner = inner;
        _options = options;
        _time = time;
        _logger = logger;
    }

    public KernelSlowPath Inner { get; }

    /// <summary>Builds the topology for <paramref name="policy"/> and starts the adapter; nothing is left behind on failure.</summary>
    public static HostedKernelSlowPath Start(PolicySnapshot policy, PortRegistry ports, KernelHostingOptions options, TimeProvider time, ILogger logger)
    {
        NetworkNamespace? ns = options.Namespace is { } name ? NetworkNamespace.Open(name) : null;
        KernelHostTopology? topology = null;
        try
        {
            topology = KernelHostTopology.Build(policy, ns, options.Owner);
            var inner = new KernelSlowPath(topology, ports, options.SlowPath, time);
            return new HostedKernelSlowPath(ns, topology, inner, options, time, logger);
        }
        catch
        {
            topology?.Dispose();
            ns?.Dispose();
            throw;
        }
    }

    /// <summary>Binds the sync to the runtime's datapath and re-installs the connections the kernel already tracks.</summary>
    public void Attach(Datapath.Datapath datapath)
    {
        if (_sync is not null)
            throw new InvalidOperationException("The kernel slow path is already attached to a datapath.");
        if (_options.RecoverConnections)
        {
            int imported = 0;
            foreach (KernelRecoveredConnection c in Inner.RecoverConnections())
            {
                if (datapath.ImportKernelConnection(c.Entry, c.OriginalKey, c.Decision) == ConnectionImportResult.Imported)
                    imported++;
            }
            if (imported > 0)
                _logger.LogInformation("Re-installed {Count} connections the kernel tracks.", imported);
        }
        var sync = new KernelConntrackSync(datapath, Inner, _options.Sync, _time, _logger);
        sync.Start(_namespace);
        _sync = sync;
    }

    public ValueTask<SlowPathDecision> DecideAsync(SlowPathRequest request, CancellationToken cancellationToken) =>
        Inner.DecideAsync(request, cancellationToken);

    public void OnConnectionRemoved(in ConnectionInfo connection) => Inner.OnConnectionRemoved(connection);

    public void OnConnectionRemoved(in ConnectionInfo connection, ConntrackRemoveReason reason) =>
        ((ISlowPathObserver)Inner).OnConnectionRemoved(connection, reason);

    public void OnDecisionDiscarded(SlowPathRequest request, SlowPathDecision decision) => Inner.OnDecisionDiscarded(request, decision);

    public RevalidationDecision Revalidate(in ConnectionInfo connection, in FlowAction original, in FlowAction reply, object? provenance) =>
        Inner.Revalidate(connection, original, reply, provenance);

    public void Dispose()
    {
        _sync?.Dispose();
        Inner.Dispose();
        _topology.Dispose();
        _namespace?.Dispose();
    }
}
