using Offload.Backends.Software;
using Offload.Datapath;
using Offload.Kernel.Namespaces;
using Offload.Kernel.Sync;
using Offload.Policy;
using Offload.Switching;

namespace Offload.Kernel.SlowPath;

/// <summary>
/// A host's virtual switch whose slow path is the Linux kernel: the kernel topology of a policy
/// (<see cref="KernelHostTopology"/>), the <see cref="KernelSlowPath"/> over it, a <see cref="Datapath.Datapath"/> on the
/// software backend with the TCP teardown punted to the kernel, and a <see cref="KernelConntrackSync"/> keeping the two
/// conntrack tables in agreement. Frames go in through <see cref="Process"/>; <see cref="Poll"/> runs the housekeeping.
/// </summary>
/// <remarks>
/// <see cref="Process"/>, <see cref="Poll"/>, <see cref="ApplyPolicy"/> and <see cref="RecoverFromKernel"/> belong to the
/// datapath's thread. Dispose stops the sync and the slow path and removes the kernel devices and ruleset; a new switch
/// with the same owner and namespace then rebuilds them and, through <see cref="RecoverFromKernel"/>, the connections the
/// kernel still tracks (an agent restart).
/// </remarks>
public sealed class KernelSwitch : IDisposable
{
    private readonly HashSet<ushort> _declared = [];
    private readonly SoftwareBackend _backend;
    private readonly KernelConntrackSync _sync;
    private bool _disposed;

    /// <summary>Builds the kernel topology of <paramref name="policy"/> in <paramref name="ns"/> and everything over it.</summary>
    /// <param name="policy">The policy in force.</param>
    /// <param name="owner">Names (and owns) the kernel devices and the nftables table of this switch.</param>
    /// <param name="ns">The host's namespace (null: the calling thread's).</param>
    /// <param name="sink">Where the datapath's frames go (a packet pump's sink).</param>
    /// <param name="options">Slow path settings; defaults when null.</param>
    /// <param name="timeProvider">The clock; the system's when null.</param>
    public KernelSwitch(PolicySnapshot policy, string owner, NetworkNamespace? ns, IFrameSink sink, KernelSlowPathOptions? options = null,
        TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(sink);
        TimeProvider time = timeProvider ?? TimeProvider.System;
        Topology = KernelHostTopology.Build(policy, ns, owner);
        KernelSlowPath? slowPath = null;
        Datapath.Datapath? datapath = null;
        try
        {
            Ports = new PortRegistry();
            slowPath = new KernelSlowPath(Topology, Ports, options, time);
            _backend = new SoftwareBackend(new SoftwareBackendOptions(), time);
            var datapathOptions = new DatapathOptions
            {
                Conntrack = policy.ToConntrackOptions(),
                Offload = policy.ToOffloadPolicy(),
                PuntTcpTeardown = true, // the kernel's TCP state machine must see the close (C5)
            };
            datapath = new Datapath.Datapath(datapathOptions, slowPath, _backend, sink, time);
            datapath.AddUplink(PortRegistry.Uplink, PortRegistry.UplinkName);
            SlowPath = slowPath;
            Datapath = datapath;
            DeclarePorts();
            _sync = new KernelConntrackSync(datapath, slowPath, timeProvider: time);
            _sync.Start(ns);
        }
        catch
        {
            datapath?.Dispose();
            _backend?.Dispose();
            slowPath?.Dispose();
            Topology.Dispose();
            throw;
        }
    }

    /// <summary>The datapath (fast path, conntrack, statistics).</summary>
    public Datapath.Datapath Datapath { get; }

    /// <summary>The kernel slow path.</summary>
    public KernelSlowPath SlowPath { get; }

    /// <summary>The kernel devices, routes and ruleset of the policy in force.</summary>
    public KernelHostTopology Topology { get; }

    /// <summary>The numbering of the policy's ports (the uplink is <see cref="PortRegistry.Uplink"/>).</summary>
    public PortRegistry Ports { get; }

    /// <summary>The conntrack sync's counters.</summary>
    public KernelConntrackSyncStats SyncStats => _sync.GetStats();

    /// <summary>Processes a batch of frames (a <see cref="PacketIo.FrameBatchHandler"/>).</summary>
    public void Process(Span<InputFrame> frames) => Datapath.Process(frames);

    /// <summary>Delivers the slow path's decisions and runs the datapath's housekeeping; returns the work done.</summary>
    public int Poll() => Datapath.Poll();

    /// <summary>
    /// Puts <paramref name="policy"/> in force: the kernel's devices and ruleset (atomically), the slow path's view, the
    /// datapath's ports, then every offloaded connection re-derived (claim S4); the ones now denied are removed from
    /// the kernel too.
    /// </summary>
    public RevalidationResult ApplyPolicy(PolicySnapshot policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ObjectDisposedException.ThrowIf(_disposed, this);
        SlowPath.ApplyPolicy(policy);
        DeclarePorts();
        return Datapath.Revalidate(SlowPath);
    }

    /// <summary>
    /// Rebuilds the fast path from the kernel's conntrack table (after a restart): every entry the policy maps to a
    /// datapath connection is imported with its state and time left. Returns how many were imported.
    /// </summary>
    public int RecoverFromKernel()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        int imported = 0;
        foreach (KernelRecoveredConnection connection in SlowPath.RecoverConnections())
        {
            if (Datapath.ImportKernelConnection(connection.Entry, connection.OriginalKey, connection.Decision) == ConnectionImportResult.Imported)
                imported++;
        }
        return imported;
    }

    private void DeclarePorts()
    {
        var now = new HashSet<ushort>();
        foreach (CompiledPort port in SlowPath.Policy.Ports)
        {
            if (!port.IsLocal)
                continue;
            now.Add(port.Number);
            Datapath.AddPort(port.Number, port.Config.Name, port.Network.Vni);
            // The decisions meter a sender's frames by its port number (KernelDecisionBuilder); the meters live here.
            QosConfig.ApplyTo(Datapath.Meters, port.Number, port.Qos);
        }
        foreach (ushort gone in _declared)
        {
            if (!now.Contains(gone))
            {
                Datapath.RemovePort(gone);
                Datapath.Meters.Remove(gone);
            }
        }
        _declared.Clear();
        _declared.UnionWith(now);
    }

    /// <summary>Stops the sync and the slow path, then removes the kernel devices and ruleset of this switch.</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        _sync.Dispose();
        Datapath.Dispose();
        SlowPath.Dispose();
        _backend.Dispose();
        Topology.Dispose();
    }
}
