using Offload.Conntrack;

namespace Offload.Datapath;

/// <summary>When a connection's flows are put into the fast path (claim S3: a policy of the controller).</summary>
public enum OffloadTrigger : byte
{
    /// <summary>As soon as the slow path has decided the first packet.</summary>
    FirstPacket,
    /// <summary>Once the connection is established (TCP ESTABLISHED; UDP/ICMP: a reply was seen), so the slow
    /// path — for the kernel slow path, the kernel's own conntrack — sees the whole handshake.</summary>
    Established,
}

/// <summary>What is offloaded and when.</summary>
public sealed class OffloadPolicy
{
    /// <summary>When flows are installed. Default <see cref="OffloadTrigger.FirstPacket"/>.</summary>
    public OffloadTrigger When { get; set; } = OffloadTrigger.FirstPacket;

    /// <summary>Install only once the connection has carried at least this many packets (both directions). Default 0.</summary>
    public int MinPackets { get; set; }

    /// <summary>
    /// For connections whose flows a device holds (a backend whose <see cref="Backends.FlowBackend.HostTable"/> does not serve
    /// them), how long before the connection's expiry the device's counters are read back: packets the device forwarded
    /// since the last read refresh the connection, so it never expires while the device forwards it. Default 2 s.
    /// </summary>
    public TimeSpan DeviceCounterLead { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Give flows held by a device the connection's timeout as their idle timeout, so the device's aging reports end
    /// idle connections (both flows and the conntrack entry) without waiting for the counter check. Default true.
    /// </summary>
    public bool DeviceAging { get; set; } = true;
}

/// <summary>Options of <see cref="Datapath"/>.</summary>
public sealed class DatapathOptions
{
    /// <summary>Connection tracking options.</summary>
    public ConntrackOptions Conntrack { get; set; } = new();

    /// <summary>What is offloaded and when.</summary>
    public OffloadPolicy Offload { get; set; } = new();

    /// <summary>How long a drop flow stays without traffic. Default 10 s.</summary>
    public TimeSpan DropFlowIdleTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Frames held per connection while its slow-path decision is pending. Default 64.</summary>
    public int PendingFramesPerConnection { get; set; } = 64;

    /// <summary>Connections whose decision may be pending at once. Default 65,536.</summary>
    public int MaxPendingConnections { get; set; } = 65_536;

    /// <summary>Non-first fragments remembered by (src, dst, protocol, id). Default 8,192.</summary>
    public int FragmentCapacity { get; set; } = 8192;

    /// <summary>At most this many connections are re-derived per <see cref="Datapath.Poll"/> call while a revalidation
    /// runs (a cap on top of the time budget). Default 16,384.</summary>
    public int RevalidationSlice { get; set; } = 16_384;

    /// <summary>
    /// The most time one <see cref="Datapath.Poll"/> call spends re-deriving connections while a revalidation runs,
    /// measured on the datapath's <see cref="TimeProvider"/>. A Poll with no frames processed since the previous one
    /// may use all of it. Default 1 ms.
    /// </summary>
    public TimeSpan RevalidationBudget { get; set; } = TimeSpan.FromMilliseconds(1);

    /// <summary>
    /// While frames are flowing, the share of the datapath thread's time a revalidation may take: a Poll's slice is
    /// budgeted <c>share / (1 - share)</c> of the time since the previous slice ended (at most
    /// <see cref="RevalidationBudget"/>, at least one connection), so the fast path keeps about <c>1 - share</c> of its
    /// throughput. Default 0.1.
    /// </summary>
    public double RevalidationShare { get; set; } = 0.1;

    /// <summary>Meter ids available to meter operations (QoS token buckets). Default 4,096.</summary>
    public int MeterCapacity { get; set; } = 4096;

    /// <summary>
    /// Send the TCP FIN and RST packets of a connection whose flows are installed to the slow path instead of applying
    /// the cached action, so a slow path with its own connection tracking (the kernel's) sees the close and its state
    /// advances with ours (claim C5). Conntrack still advances from the packet; later packets of the same direction wait
    /// behind it in order. Default false.
    /// </summary>
    public bool PuntTcpTeardown { get; set; }

    /// <summary>
    /// How often <see cref="Datapath.Poll"/> starts a report of the connections that carried fast-path packets since
    /// the previous one, to <see cref="Datapath.ActivityObserver"/> (so a slow path's own tracker can refresh their
    /// timeouts). Keep it below the shortest timeout that tracker uses. Default 5 s.
    /// </summary>
    public TimeSpan ActivityReportInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Connection slots one <see cref="Datapath.Poll"/> call examines for an activity report (a report is
    /// spread over as many Polls as it needs). Default 4,096.</summary>
    public int ActivityScanSlice { get; set; } = 4096;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Conntrack, nameof(Conntrack));
        ArgumentOutOfRangeException.ThrowIfLessThan(MeterCapacity, 1, nameof(MeterCapacity));
        ArgumentOutOfRangeException.ThrowIfLessThan(RevalidationSlice, 1, nameof(RevalidationSlice));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(RevalidationBudget, TimeSpan.Zero, nameof(RevalidationBudget));
        if (!(RevalidationShare > 0 && RevalidationShare < 1))
            throw new ArgumentOutOfRangeException(nameof(RevalidationShare), RevalidationShare, "The share must be in (0, 1).");
        ArgumentNullException.ThrowIfNull(Offload, nameof(Offload));
        Conntrack.Validate();
        ArgumentOutOfRangeException.ThrowIfNegative(Offload.MinPackets, "Offload.MinPackets");
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(Offload.DeviceCounterLead, TimeSpan.Zero, "Offload.DeviceCounterLead");
        ArgumentOutOfRangeException.ThrowIfLessThan(DropFlowIdleTimeout, TimeSpan.FromSeconds(1), nameof(DropFlowIdleTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThan(PendingFramesPerConnection, 1, nameof(PendingFramesPerConnection));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxPendingConnections, 1, nameof(MaxPendingConnections));
        ArgumentOutOfRangeException.ThrowIfLessThan(FragmentCapacity, 16, nameof(FragmentCapacity));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ActivityReportInterval, TimeSpan.Zero, nameof(ActivityReportInterval));
        ArgumentOutOfRangeException.ThrowIfLessThan(ActivityScanSlice, 1, nameof(ActivityScanSlice));
    }
}

/// <summary>A snapshot of the datapath's counters.</summary>
public sealed record DatapathStats
{
    /// <summary>Frames received; each has exactly one result, so this is <see cref="Forwarded"/> + <see cref="Dropped"/>.</summary>
    public long Frames { get; init; }
    /// <summary>Frames handled by the fast path.</summary>
    public long FastPathFrames { get; init; }
    /// <summary>Frames handled by the slow path.</summary>
    public long SlowPathFrames { get; init; }
    /// <summary>Frames sent out of a port.</summary>
    public long Forwarded { get; init; }
    /// <summary>Frames dropped, all reasons.</summary>
    public long Dropped { get; init; }
    /// <summary>Drops per reason (only reasons with a non-zero count).</summary>
    public required IReadOnlyDictionary<DropReason, long> DropsByReason { get; init; }
    /// <summary>Flows installed into the backend.</summary>
    public long FlowsInstalled { get; init; }
    /// <summary>Flows removed from the backend.</summary>
    public long FlowsRemoved { get; init; }
    /// <summary>Flow installs the backend refused (table full, unsupported, failed); those connections stay on the slow path.</summary>
    public long FlowInstallFailures { get; init; }
    /// <summary>Frames held while a decision was pending.</summary>
    public long FramesHeld { get; init; }
    /// <summary>Connections tracked now.</summary>
    public int Connections { get; init; }
    /// <summary>Flows in the backend now.</summary>
    public int Flows { get; init; }
}
