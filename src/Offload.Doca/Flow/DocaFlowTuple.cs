using Offload.Packets;

namespace Offload.Doca.Flow;

/// <summary>
/// What an entry matches: the 5-tuple plus the VNI of the tunnel it arrived in (0 outside a tunnel).
/// ICMP echo uses the identifier as <see cref="SourcePort"/> and (type &lt;&lt; 8) | code as <see cref="DestinationPort"/>.
/// </summary>
/// <param name="Source">Source address (both addresses of one family).</param>
/// <param name="Destination">Destination address.</param>
/// <param name="SourcePort">Source port.</param>
/// <param name="DestinationPort">Destination port.</param>
/// <param name="Protocol">IP protocol number.</param>
/// <param name="Vni">Tunnel VNI (VXLAN VNI or GRE key), 0 for a packet outside a tunnel.</param>
public readonly record struct DocaFlowTuple(NetAddress Source, NetAddress Destination, ushort SourcePort, ushort DestinationPort, byte Protocol, uint Vni = 0);

/// <summary>Which fields a pipe matches on.</summary>
[Flags]
public enum DocaMatchFields
{
    /// <summary>Nothing: every packet takes the pipe's single entry or its miss fate.</summary>
    None = 0,
    /// <summary>Source address.</summary>
    SourceAddress = 1 << 0,
    /// <summary>Destination address.</summary>
    DestinationAddress = 1 << 1,
    /// <summary>Source port.</summary>
    SourcePort = 1 << 2,
    /// <summary>Destination port.</summary>
    DestinationPort = 1 << 3,
    /// <summary>IP protocol.</summary>
    Protocol = 1 << 4,
    /// <summary>Tunnel VNI.</summary>
    Vni = 1 << 5,
    /// <summary>The 5-tuple.</summary>
    FiveTuple = SourceAddress | DestinationAddress | SourcePort | DestinationPort | Protocol,
    /// <summary>The 5-tuple and the VNI.</summary>
    FiveTupleAndVni = FiveTuple | Vni,
}
