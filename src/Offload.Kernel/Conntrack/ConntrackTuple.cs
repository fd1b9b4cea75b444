using Offload.Flows;
using Offload.Packets;

namespace Offload.Kernel.Conntrack;

/// <summary>
/// One direction of a kernel conntrack entry. Ports follow <see cref="ParsedPacket"/>'s ICMP convention:
/// for ICMP/ICMPv6 <see cref="SourcePort"/> is the identifier and <see cref="DestinationPort"/> is (type &lt;&lt; 8) | code.
/// </summary>
/// <param name="Source">Source address (IPv4 held IPv4-mapped).</param>
/// <param name="Destination">Destination address.</param>
/// <param name="Protocol">L4 protocol number.</param>
/// <param name="SourcePort">Source port or ICMP identifier.</param>
/// <param name="DestinationPort">Destination port or ICMP (type &lt;&lt; 8) | code.</param>
public readonly record struct ConntrackTuple(NetAddress Source, NetAddress Destination, byte Protocol, ushort SourcePort, ushort DestinationPort)
{
    /// <summary>Whether the addresses are IPv4.</summary>
    public bool IsV4 => Source.IsV4;

    /// <summary>Whether the protocol carries ICMP identifiers/type/code instead of ports.</summary>
    public bool IsIcmp => Protocol is IpProtocol.Icmp or IpProtocol.IcmpV6;

    /// <summary>ICMP type (ICMP tuples only).</summary>
    public byte IcmpType => (byte)(DestinationPort >> 8);

    /// <summary>ICMP code (ICMP tuples only).</summary>
    public byte IcmpCode => (byte)DestinationPort;

    /// <summary>
    /// The fast-path key of packets travelling this direction (how the flow table is rebuilt from a conntrack dump).
    /// The kernel does not know the switch's ingress port or VNI, so the caller supplies them.
    /// </summary>
    public FlowKey ToFlowKey(ushort inPort, uint vni) => new(Source, SourcePort, Destination, DestinationPort, Protocol, inPort, vni);

    /// <summary>The tuple of a fast-path key (ingress port and VNI are dropped).</summary>
    public static ConntrackTuple FromFlowKey(in FlowKey key) => new(key.SrcIp, key.DstIp, key.Protocol, key.SrcPort, key.DstPort);

    /// <summary>Builds an ICMP/ICMPv6 tuple.</summary>
    public static ConntrackTuple Icmp(NetAddress source, NetAddress destination, ushort identifier, byte type, byte code) =>
        new(source, destination, source.IsV4 ? IpProtocol.Icmp : IpProtocol.IcmpV6, identifier, (ushort)((type << 8) | code));
}
