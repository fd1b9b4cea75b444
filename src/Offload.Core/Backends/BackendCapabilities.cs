namespace Offload.Backends;

/// <summary>Header operations a backend can apply in its fast path.</summary>
[Flags]
public enum ActionCapabilities
{
    /// <summary>None.</summary>
    None = 0,
    /// <summary>Forward out of a port.</summary>
    Output = 1 << 0,
    /// <summary>Drop.</summary>
    Drop = 1 << 1,
    /// <summary>Set source/destination MAC.</summary>
    SetMac = 1 << 2,
    /// <summary>Source or destination NAT of address and port.</summary>
    Nat = 1 << 3,
    /// <summary>Decrement TTL / hop limit.</summary>
    DecrementTtl = 1 << 4,
    /// <summary>VXLAN encapsulation.</summary>
    VxlanEncap = 1 << 5,
    /// <summary>GRE encapsulation.</summary>
    GreEncap = 1 << 6,
    /// <summary>Tunnel decapsulation.</summary>
    Decap = 1 << 7,
    /// <summary>Token-bucket metering.</summary>
    Meter = 1 << 8,
    /// <summary>Every operation.</summary>
    All = Output | Drop | SetMac | Nat | DecrementTtl | VxlanEncap | GreEncap | Decap | Meter,
}

/// <summary>Match fields a backend can key on.</summary>
[Flags]
public enum MatchCapabilities
{
    /// <summary>None.</summary>
    None = 0,
    /// <summary>IPv4 5-tuple.</summary>
    IPv4 = 1 << 0,
    /// <summary>IPv6 5-tuple.</summary>
    IPv6 = 1 << 1,
    /// <summary>ICMP/ICMPv6 id and type in place of ports.</summary>
    Icmp = 1 << 2,
    /// <summary>L4 protocols other than TCP, UDP and ICMP (ports zero).</summary>
    OtherProtocols = 1 << 3,
    /// <summary>Ingress port and VNI.</summary>
    PortAndVni = 1 << 4,
    /// <summary>Every field.</summary>
    All = IPv4 | IPv6 | Icmp | OtherProtocols | PortAndVni,
}

/// <summary>What a backend can hold and do.</summary>
/// <param name="MaxFlows">Flows the backend can hold at once.</param>
/// <param name="QueueDepth">Operations that may be in flight before <see cref="SubmitStatus.QueueFull"/>.</param>
/// <param name="Match">Match fields supported.</param>
/// <param name="Actions">Actions supported.</param>
/// <param name="SupportsConntrack">Whether connection state can be pushed down with the flows.</param>
/// <param name="SupportsAging">Whether idle flows are reported.</param>
/// <param name="SupportsCounters">Whether per-flow counters can be read back.</param>
public sealed record BackendCapabilities(
    int MaxFlows,
    int QueueDepth,
    MatchCapabilities Match,
    ActionCapabilities Actions,
    bool SupportsConntrack,
    bool SupportsAging,
    bool SupportsCounters);

/// <summary>Health of a backend's device.</summary>
public enum BackendHealth : byte
{
    /// <summary>Working.</summary>
    Healthy,
    /// <summary>Working with errors (transient failures, circuit half-open).</summary>
    Degraded,
    /// <summary>Not accepting work; flows must be served in software.</summary>
    Failed,
}

/// <summary>Arguments of <see cref="FlowBackend.HealthChanged"/>.</summary>
/// <param name="Previous">Health before.</param>
/// <param name="Current">Health now.</param>
/// <param name="Reason">Why it changed.</param>
public readonly record struct BackendHealthChangedEventArgs(BackendHealth Previous, BackendHealth Current, string Reason);
