using System.Buffers.Binary;
using System.Globalization;
using Offload.Packets;

namespace Offload.Actions;

/// <summary>
/// The outer headers of a tunnel (VXLAN, or GRE with key = VNI carrying Ethernet), built once so that
/// encapsulating a frame is a copy plus a few length, port and checksum fills. Immutable, with value
/// equality so that programs holding equal templates intern to one.
/// </summary>
public sealed class EncapTemplate : IEquatable<EncapTemplate>
{
    /// <summary>The IANA VXLAN UDP port.</summary>
    public const ushort VxlanPort = 4789;

    internal const int EthernetLength = 14;
    internal const int UdpLength = 8;
    internal const int VxlanLength = 8;
    internal const int GreLength = 8;

    private readonly byte[] _header;

    /// <summary>Creates a template; both outer addresses must be of the same family.</summary>
    /// <exception cref="ArgumentOutOfRangeException">VNI over 24 bits, TTL 0, or UDP port 0.</exception>
    /// <exception cref="ArgumentException">Missing or mixed-family outer addresses.</exception>
    public EncapTemplate(TunnelType type, uint vni, MacAddress outerSourceMac, MacAddress outerDestinationMac,
        NetAddress outerSourceIp, NetAddress outerDestinationIp, byte ttl = 64, ushort udpDestinationPort = VxlanPort)
    {
        if (type is not (TunnelType.Vxlan or TunnelType.Gre))
            throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown tunnel type.");
        ArgumentOutOfRangeException.ThrowIfGreaterThan(vni, 0xFFFFFFu);
        ArgumentOutOfRangeException.ThrowIfZero(ttl);
        if (type == TunnelType.Vxlan)
            ArgumentOutOfRangeException.ThrowIfZero(udpDestinationPort);
        if (outerSourceIp.IsNone || outerDestinationIp.IsNone)
            throw new ArgumentException("An encapsulation needs both outer IP addresses.", nameof(outerSourceIp));
        if (outerSourceIp.IsV4 != outerDestinationIp.IsV4)
            throw new ArgumentException(
                $"Outer addresses must be of one family ({outerSourceIp} and {outerDestinationIp}).", nameof(outerDestinationIp));

        Type = type;
        Vni = vni;
        OuterSourceMac = outerSourceMac;
        OuterDestinationMac = outerDestinationMac;
        OuterSourceIp = outerSourceIp;
        OuterDestinationIp = outerDestinationIp;
        Ttl = ttl;
        UdpDestinationPort = type == TunnelType.Vxlan ? udpDestinationPort : (ushort)0;
        IsIPv6 = !outerSourceIp.IsV4;
        IpHeaderLength = IsIPv6 ? 40 : 20;
        HeaderLength = EthernetLength + IpHeaderLength + (type == TunnelType.Vxlan ? UdpLength + VxlanLength : GreLength);
        _header = BuildHeader();
        if (!IsIPv6)
            IpHeaderPartialSum = Checksum.Sum(_header.AsSpan(EthernetLength, 20));
        else if (type == TunnelType.Vxlan)
            // Addresses, next header and the static UDP/VXLAN words; lengths and source port are added per packet.
            UdpPartialSum = Checksum.Add(
                Checksum.PseudoHeaderSum(outerSourceIp, outerDestinationIp, IpProtocol.Udp, 0),
                Checksum.Sum(_header.AsSpan(EthernetLength + IpHeaderLength)));
    }

    /// <summary>VXLAN or GRE.</summary>
    public TunnelType Type { get; }

    /// <summary>The VNI (24 bits), written as the VXLAN VNI or the GRE key.</summary>
    public uint Vni { get; }

    /// <summary>Outer source MAC (this host's uplink).</summary>
    public MacAddress OuterSourceMac { get; }

    /// <summary>Outer destination MAC (the remote host or the next hop).</summary>
    public MacAddress OuterDestinationMac { get; }

    /// <summary>Outer source IP (this host's underlay address).</summary>
    public NetAddress OuterSourceIp { get; }

    /// <summary>Outer destination IP (the remote tunnel endpoint).</summary>
    public NetAddress OuterDestinationIp { get; }

    /// <summary>Outer IPv4 TTL or IPv6 hop limit.</summary>
    public byte Ttl { get; }

    /// <summary>Outer UDP destination port (VXLAN only; 0 for GRE).</summary>
    public ushort UdpDestinationPort { get; }

    /// <summary>True for an IPv6 underlay.</summary>
    public bool IsIPv6 { get; }

    /// <summary>Bytes the encapsulation adds in front of the frame (50/70 for VXLAN, 42/62 for GRE over IPv4/IPv6).</summary>
    public int HeaderLength { get; }

    internal int IpHeaderLength { get; }

    /// <summary>The prebuilt outer headers; lengths, UDP source port and checksums are zero.</summary>
    internal ReadOnlySpan<byte> Header => _header;

    /// <summary>Sum of the outer IPv4 header with total length and checksum zero.</summary>
    internal uint IpHeaderPartialSum { get; }

    /// <summary>IPv6 VXLAN: the sum of the pseudo-header without its length plus the static UDP/VXLAN words.</summary>
    internal uint UdpPartialSum { get; }

    private byte[] BuildHeader()
    {
        var h = new byte[HeaderLength];
        OuterDestinationMac.WriteTo(h);
        OuterSourceMac.WriteTo(h.AsSpan(6));
        BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(12), IsIPv6 ? EtherType.IPv6 : EtherType.IPv4);
        byte protocol = Type == TunnelType.Vxlan ? IpProtocol.Udp : IpProtocol.Gre;
        var ip = h.AsSpan(EthernetLength, IpHeaderLength);
        if (IsIPv6)
        {
            ip[0] = 0x60;
            ip[6] = protocol;
            ip[7] = Ttl;
            OuterSourceIp.WriteTo(ip.Slice(8));
            OuterDestinationIp.WriteTo(ip.Slice(24));
        }
        else
        {
            ip[0] = 0x45;
            // Identification 0 with DF: an atomic datagram (RFC 6864); the outer packet is never fragmented here.
            BinaryPrimitives.WriteUInt16BigEndian(ip.Slice(6), 0x4000);
            ip[8] = Ttl;
            ip[9] = protocol;
            OuterSourceIp.WriteTo(ip.Slice(12));
            OuterDestinationIp.WriteTo(ip.Slice(16));
        }
        var l4 = h.AsSpan(EthernetLength + IpHeaderLength);
        if (Type == TunnelType.Vxlan)
        {
            BinaryPrimitives.WriteUInt16BigEndian(l4.Slice(2), UdpDestinationPort);
            l4[UdpLength] = 0x08; // I flag: VNI valid
            BinaryPrimitives.WriteUInt32BigEndian(l4.Slice(UdpLength + 4), Vni << 8);
        }
        else
        {
            BinaryPrimitives.WriteUInt16BigEndian(l4, 0x2000); // K flag, version 0
            BinaryPrimitives.WriteUInt16BigEndian(l4.Slice(2), EtherType.TransparentEthernetBridging);
            BinaryPrimitives.WriteUInt32BigEndian(l4.Slice(4), Vni);
        }
        return h;
    }

    /// <inheritdoc/>
    public bool Equals(EncapTemplate? other) =>
        other is not null && (ReferenceEquals(this, other)
            || (Type == other.Type && Vni == other.Vni && OuterSourceMac == other.OuterSourceMac
                && OuterDestinationMac == other.OuterDestinationMac && OuterSourceIp == other.OuterSourceIp
                && OuterDestinationIp == other.OuterDestinationIp && Ttl == other.Ttl
                && UdpDestinationPort == other.UdpDestinationPort));

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as EncapTemplate);

    /// <inheritdoc/>
    public override int GetHashCode() =>
        HashCode.Combine(Type, Vni, OuterSourceMac, OuterDestinationMac, OuterSourceIp, OuterDestinationIp, Ttl, UdpDestinationPort);

    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{(Type == TunnelType.Vxlan ? "vxlan" : "gre")} vni={Vni} {OuterSourceIp}->{OuterDestinationIp}");
}
