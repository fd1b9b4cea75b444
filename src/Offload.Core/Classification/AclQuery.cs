using Offload.Flows;
using Offload.Packets;

namespace Offload.Classification;

/// <summary>The fields of a packet an ACL looks at. For ICMP the ports follow <see cref="FlowKey"/>'s convention.</summary>
public readonly struct AclQuery : IEquatable<AclQuery>
{
    /// <summary>Creates a query.</summary>
    public AclQuery(AclDirection direction, uint vni, NetAddress srcIp, NetAddress dstIp, byte protocol, ushort srcPort, ushort dstPort)
    {
        Direction = direction;
        Vni = vni;
        SrcIp = srcIp;
        DstIp = dstIp;
        Protocol = protocol;
        SrcPort = srcPort;
        DstPort = dstPort;
    }

    /// <summary>The query for a flow key seen in <paramref name="direction"/>.</summary>
    public static AclQuery FromFlowKey(in FlowKey key, AclDirection direction) =>
        new(direction, key.Vni, key.SrcIp, key.DstIp, key.Protocol, key.SrcPort, key.DstPort);

    /// <summary><see cref="AclDirection.Ingress"/> or <see cref="AclDirection.Egress"/>.</summary>
    public AclDirection Direction { get; }

    /// <summary>Virtual network identifier.</summary>
    public uint Vni { get; }

    /// <summary>Source address.</summary>
    public NetAddress SrcIp { get; }

    /// <summary>Destination address.</summary>
    public NetAddress DstIp { get; }

    /// <summary>L4 protocol number.</summary>
    public byte Protocol { get; }

    /// <summary>Source port (ICMP identifier).</summary>
    public ushort SrcPort { get; }

    /// <summary>Destination port (ICMP (type &lt;&lt; 8) | code).</summary>
    public ushort DstPort { get; }

    /// <inheritdoc/>
    public bool Equals(AclQuery other) =>
        Direction == other.Direction && Vni == other.Vni && SrcIp == other.SrcIp && DstIp == other.DstIp
        && Protocol == other.Protocol && SrcPort == other.SrcPort && DstPort == other.DstPort;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is AclQuery other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Direction, Vni, SrcIp, DstIp, Protocol, SrcPort, DstPort);

    /// <summary>Equality.</summary>
    public static bool operator ==(AclQuery left, AclQuery right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(AclQuery left, AclQuery right) => !left.Equals(right);

    /// <inheritdoc/>
    public override string ToString() =>
        $"{Direction} vni {Vni} {IpProtocol.Name(Protocol)} {SrcIp}:{SrcPort} -> {DstIp}:{DstPort}";
}
