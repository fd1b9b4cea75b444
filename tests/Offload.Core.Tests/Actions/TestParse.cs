using System.Buffers.Binary;
using Offload.Packets;

namespace Offload.Tests.Actions;

/// <summary>
/// A minimal test-only parser for the frames the tests build (the real PacketParser is written
/// elsewhere): fills the <see cref="ParsedPacket"/> fields the executor reads.
/// </summary>
internal static class TestParse
{
    public static ParsedPacket Frame(ReadOnlySpan<byte> f)
    {
        var p = new ParsedPacket { FrameLength = f.Length };
        p.DstMac = MacAddress.Read(f);
        p.SrcMac = MacAddress.Read(f.Slice(6));
        int at = 12;
        ushort type = BinaryPrimitives.ReadUInt16BigEndian(f.Slice(at));
        while (type is EtherType.Vlan or EtherType.QinQ)
        {
            p.VlanCount++;
            at += 4;
            type = BinaryPrimitives.ReadUInt16BigEndian(f.Slice(at));
        }
        p.EtherType = type;
        Ip(f, at + 2, ref p);
        return p;
    }

    /// <summary>Parses an IP packet with no Ethernet header (GRE carrying IP): L3Offset = 0.</summary>
    public static ParsedPacket IpOnly(ReadOnlySpan<byte> f)
    {
        var p = new ParsedPacket { FrameLength = f.Length };
        p.EtherType = (f[0] >> 4) == 4 ? EtherType.IPv4 : EtherType.IPv6;
        Ip(f, 0, ref p);
        return p;
    }

    /// <summary>The parse of the inner frame of a tunnel frame, with the outer parse.</summary>
    public static (ParsedPacket Outer, ParsedPacket Inner) Tunnel(ReadOnlySpan<byte> f)
    {
        var outer = Frame(f);
        outer.Tunnel.Should().NotBe(TunnelKind.None, "the test built a tunnel frame");
        var innerBytes = f.Slice(outer.InnerOffset);
        var inner = outer.InnerEtherType == EtherType.TransparentEthernetBridging ? Frame(innerBytes) : IpOnly(innerBytes);
        return (outer, inner);
    }

    private static void Ip(ReadOnlySpan<byte> f, int l3, ref ParsedPacket p)
    {
        p.L3Offset = l3;
        int l4;
        if (p.EtherType == EtherType.IPv4)
        {
            p.L3 = L3Kind.IPv4;
            int ihl = (f[l3] & 0xF) * 4;
            p.L3End = l3 + BinaryPrimitives.ReadUInt16BigEndian(f.Slice(l3 + 2));
            p.IpId = BinaryPrimitives.ReadUInt16BigEndian(f.Slice(l3 + 4));
            ushort frag = BinaryPrimitives.ReadUInt16BigEndian(f.Slice(l3 + 6));
            p.MoreFragments = (frag & 0x2000) != 0;
            p.FragmentOffset = (frag & 0x1FFF) * 8;
            p.IsFragment = p.MoreFragments || p.FragmentOffset != 0;
            p.Ttl = f[l3 + 8];
            p.Protocol = f[l3 + 9];
            p.SrcIp = NetAddress.FromV4Bytes(f.Slice(l3 + 12));
            p.DstIp = NetAddress.FromV4Bytes(f.Slice(l3 + 16));
            l4 = l3 + ihl;
        }
        else if (p.EtherType == EtherType.IPv6)
        {
            p.L3 = L3Kind.IPv6;
            p.L3End = l3 + 40 + BinaryPrimitives.ReadUInt16BigEndian(f.Slice(l3 + 4));
            p.Protocol = f[l3 + 6];
            p.Ttl = f[l3 + 7];
            p.SrcIp = NetAddress.FromV6Bytes(f.Slice(l3 + 8));
            p.DstIp = NetAddress.FromV6Bytes(f.Slice(l3 + 24));
            l4 = l3 + 40;
        }
        else
        {
            return;
        }
        p.L4Offset = l4;
        if (p.FragmentOffset != 0)
            return;
        p.HasPorts = true;
        switch (p.Protocol)
        {
            case IpProtocol.Tcp:
                p.SrcPort = BinaryPrimitives.ReadUInt16BigEndian(f.Slice(l4));
                p.DstPort = BinaryPrimitives.ReadUInt16BigEndian(f.Slice(l4 + 2));
                if (f.Length >= l4 + 14) // ICMP errors may quote only 8 bytes of TCP
                {
                    p.TcpFlags = (TcpFlags)f[l4 + 13];
                    p.PayloadOffset = l4 + (f[l4 + 12] >> 4) * 4;
                }
                break;
            case IpProtocol.Udp:
                p.SrcPort = BinaryPrimitives.ReadUInt16BigEndian(f.Slice(l4));
                p.DstPort = BinaryPrimitives.ReadUInt16BigEndian(f.Slice(l4 + 2));
                p.PayloadOffset = l4 + 8;
                if (p.DstPort == 4789)
                {
                    p.Tunnel = TunnelKind.Vxlan;
                    p.Vni = BinaryPrimitives.ReadUInt32BigEndian(f.Slice(l4 + 12)) >> 8;
                    p.InnerOffset = l4 + 16;
                    p.InnerEtherType = EtherType.TransparentEthernetBridging;
                }
                break;
            case IpProtocol.Gre:
                p.HasPorts = false;
                p.Tunnel = TunnelKind.Gre;
                p.InnerEtherType = BinaryPrimitives.ReadUInt16BigEndian(f.Slice(l4 + 2));
                p.Vni = BinaryPrimitives.ReadUInt32BigEndian(f.Slice(l4 + 4));
                p.InnerOffset = l4 + 8;
                break;
            case IpProtocol.Icmp:
            case IpProtocol.IcmpV6:
                p.IcmpType = f[l4];
                p.IcmpCode = f[l4 + 1];
                p.DstPort = (ushort)((f[l4] << 8) | f[l4 + 1]);
                p.PayloadOffset = l4 + 8;
                bool error = p.Protocol == IpProtocol.Icmp ? p.IcmpType is 3 or 11 or 12 : p.IcmpType < 128;
                if (!error)
                {
                    p.SrcPort = BinaryPrimitives.ReadUInt16BigEndian(f.Slice(l4 + 4));
                    break;
                }
                p.IsIcmpError = true;
                if (f.Length < l4 + 8 + (p.L3 == L3Kind.IPv4 ? 28 : 48))
                    break;
                var quoted = new ParsedPacket { EtherType = p.L3 == L3Kind.IPv4 ? EtherType.IPv4 : EtherType.IPv6 };
                Ip(f.Slice(0, Math.Min(f.Length, p.L3End)), l4 + 8, ref quoted);
                p.InnerSrcIp = quoted.SrcIp;
                p.InnerDstIp = quoted.DstIp;
                p.InnerProtocol = quoted.Protocol;
                p.InnerSrcPort = quoted.SrcPort;
                p.InnerDstPort = quoted.DstPort;
                break;
            default:
                p.HasPorts = false;
                break;
        }
        p.PayloadLength = Math.Max(0, p.L3End - p.PayloadOffset);
    }
}
