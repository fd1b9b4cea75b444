using Offload.Packets;

namespace Offload.Doca.Flow;

/// <summary>Where a matched packet goes.</summary>
public enum DocaFate
{
    /// <summary>Out of <see cref="DocaFlowAction.Port"/>.</summary>
    Port = 1,
    /// <summary>Dropped.</summary>
    Drop = 2,
    /// <summary>Up to the host (the software path).</summary>
    Software = 3,
    /// <summary>On to <see cref="DocaFlowAction.NextPipe"/>.</summary>
    Pipe = 4,
}

/// <summary>Header rewrites; applied as decap, then NAT and MAC rewrites, then the TTL decrement, then encap.</summary>
[Flags]
public enum DocaRewrites
{
    /// <summary>None.</summary>
    None = 0,
    /// <summary>Strip the VXLAN/GRE outer headers.</summary>
    Decap = 1 << 0,
    /// <summary>Set the source address.</summary>
    SourceAddress = 1 << 1,
    /// <summary>Set the destination address.</summary>
    DestinationAddress = 1 << 2,
    /// <summary>Set the source port (ICMP echo: the identifier).</summary>
    SourcePort = 1 << 3,
    /// <summary>Set the destination port.</summary>
    DestinationPort = 1 << 4,
    /// <summary>Set the source MAC.</summary>
    SourceMac = 1 << 5,
    /// <summary>Set the destination MAC.</summary>
    DestinationMac = 1 << 6,
    /// <summary>Add outer headers (<see cref="DocaFlowAction.Encap"/>).</summary>
    Encap = 1 << 7,
    /// <summary>
    /// Decrement the IPv4 TTL / IPv6 hop limit of the flow's own packet (the inner one when a tunnel is kept or
    /// added), updating the IPv4 header checksum; a packet arriving with 0 or 1 is dropped, as the software
    /// executor does.
    /// </summary>
    DecrementTtl = 1 << 8,
}

/// <summary>Tunnel type for encapsulation.</summary>
public enum DocaTunnel
{
    /// <summary>None.</summary>
    None = 0,
    /// <summary>VXLAN (UDP 4789).</summary>
    Vxlan = 1,
    /// <summary>GRE with key = VNI, carrying Ethernet.</summary>
    Gre = 2,
}

/// <summary>Outer headers added by <see cref="DocaRewrites.Encap"/>.</summary>
/// <param name="Tunnel">VXLAN or GRE.</param>
/// <param name="Source">Outer source address (this host's underlay address).</param>
/// <param name="Destination">Outer destination address (the destination host).</param>
/// <param name="SourceMac">Outer source MAC.</param>
/// <param name="DestinationMac">Outer destination MAC (the next hop).</param>
/// <param name="Vni">VNI (GRE: key).</param>
/// <param name="UdpSourcePort">VXLAN source port; 0 = derived from the inner flow.</param>
/// <param name="Ttl">Outer TTL; 0 = 64.</param>
public readonly record struct DocaEncap(DocaTunnel Tunnel, NetAddress Source, NetAddress Destination, MacAddress SourceMac, MacAddress DestinationMac, uint Vni, ushort UdpSourcePort = 0, byte Ttl = 0);

/// <summary>What an entry does with a matched packet.</summary>
public readonly record struct DocaFlowAction
{
    /// <summary>Where the packet goes.</summary>
    public DocaFate Fate { get; init; }

    /// <summary>Output port for <see cref="DocaFate.Port"/>.</summary>
    public ushort Port { get; init; }

    /// <summary>Next pipe for <see cref="DocaFate.Pipe"/>.</summary>
    public DocaPipe? NextPipe { get; init; }

    /// <summary>Which rewrites apply.</summary>
    public DocaRewrites Rewrites { get; init; }

    /// <summary>New source address (SNAT).</summary>
    public NetAddress SourceAddress { get; init; }

    /// <summary>New destination address (DNAT).</summary>
    public NetAddress DestinationAddress { get; init; }

    /// <summary>New source port.</summary>
    public ushort SourcePort { get; init; }

    /// <summary>New destination port.</summary>
    public ushort DestinationPort { get; init; }

    /// <summary>New source MAC.</summary>
    public MacAddress SourceMac { get; init; }

    /// <summary>New destination MAC (delivery to a VM).</summary>
    public MacAddress DestinationMac { get; init; }

    /// <summary>Outer headers for <see cref="DocaRewrites.Encap"/>.</summary>
    public DocaEncap Encap { get; init; }

    /// <summary>Forward out of <paramref name="port"/> unchanged.</summary>
    public static DocaFlowAction ToPort(ushort port) => new() { Fate = DocaFate.Port, Port = port };

    /// <summary>Drop.</summary>
    public static DocaFlowAction Drop => new() { Fate = DocaFate.Drop };
}

/// <summary>One flow entry: match, action, and what to monitor.</summary>
/// <param name="Match">The tuple.</param>
/// <param name="Action">What to do.</param>
/// <param name="Count">Keep packet/byte counters.</param>
/// <param name="AgingSeconds">Report the entry as aged after this many idle seconds; 0 = never.</param>
public readonly record struct DocaEntrySpec(DocaFlowTuple Match, DocaFlowAction Action, bool Count = true, uint AgingSeconds = 0);

/// <summary>Packet and byte counters of an entry (or of one direction of a connection).</summary>
/// <param name="Packets">Packets.</param>
/// <param name="Bytes">Bytes.</param>
public readonly record struct DocaCounters(ulong Packets, ulong Bytes);
