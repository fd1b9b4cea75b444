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

    /// <summary>Builds an ICMP/ICMPv6 tuple.</summary>
    public static ConntrackTuple Icmp(NetAddress source, NetAddress destination, ushort identifier, byte type, byte code) =>
        new(source, destination, source.IsV4 ? IpProtocol.Icmp : IpProtocol.IcmpV6, identifier, (ushort)((type << 8) | code));
}
