using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Offload.Packets;

public static partial class PacketParser
{
    private const int TcpMinHeaderLength = 20;
    private const int UdpHeaderLength = 8;
    private const int IcmpMinLength = 4;
    private const int IcmpHeaderLength = 8;
    private const int VxlanHeaderLength = 8;
    private const int GreBaseHeaderLength = 4;

    private const ushort GreChecksum = 0x8000;
    private const ushort GreRouting = 0x4000;
    private const ushort GreKey = 0x2000;
    private const ushort GreSequence = 0x1000;
    private const ushort GreVersionMask = 0x0007;

    /// <summary>Parses the L4 header at <see cref="ParsedPacket.L4Offset"/>; reads stop at <see cref="ParsedPacket.L3End"/>.</summary>
    private static void ParseTransport(ReadOnlySpan<byte> frame, ref ParsedPacket p)
    {
        int l4 = p.L4Offset;
        ReadOnlySpan<byte> segment = frame.Slice(l4, p.L3End - l4);
        p.PayloadOffset = l4;
        p.PayloadLength = segment.Length;

        // A non-first fragment carries no L4 header: its flow is found by (src, dst, protocol, id).
        if (p.FragmentOffset != 0)
            return;

        switch (p.Protocol)
        {
            case IpProtocol.Tcp:
                ParseTcp(segment, ref p);
                break;
            case IpProtocol.Udp:
                ParseUdp(segment, ref p);
                break;
            case IpProtocol.Icmp:
                ParseIcmp(segment, isV6: false, ref p);
                break;
            case IpProtocol.IcmpV6:
                ParseIcmp(segment, isV6: true, ref p);
                break;
            case IpProtocol.Gre:
                ParseGre(segment, ref p);
                break;
        }
    }

    /// <summary>A first fragment whose L4 header is cut short is a tiny-fragment attack (RFC 1858), not just
    /// a short header: name it as such.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static DropReason ShortHeader(in ParsedPacket p, DropReason reason) =>
        p.IsFragment ? DropReason.BadFragment : reason;

    private static void ParseTcp(ReadOnlySpan<byte> tcp, ref ParsedPacket p)
    {
        if (tcp.Length < TcpMinHeaderLength)
        {
            p.Error = ShortHeader(p, DropReason.BadTcpHeader);
            return;
        }
        int headerLength = (tcp[12] >> 4) << 2;
        if (headerLength < TcpMinHeaderLength)
        {
            p.Error = DropReason.BadTcpHeader;
            return;
        }
        if (headerLength > tcp.Length)
        {
            p.Error = ShortHeader(p, DropReason.BadTcpHeader);
            return;
        }
        p.HasPorts = true;
        p.SrcPort = BinaryPrimitives.ReadUInt16BigEndian(tcp);
        p.DstPort = BinaryPrimitives.ReadUInt16BigEndian(tcp.Slice(2));
        p.TcpSeq = BinaryPrimitives.ReadUInt32BigEndian(tcp.Slice(4));
        p.TcpAck = BinaryPrimitives.ReadUInt32BigEndian(tcp.Slice(8));
        p.TcpFlags = (TcpFlags)tcp[13];
        p.TcpWindow = BinaryPrimitives.ReadUInt16BigEndian(tcp.Slice(14));
        p.PayloadOffset = p.L4Offset + headerLength;
        p.PayloadLength = tcp.Length - headerLength;
    }

    private static void ParseUdp(ReadOnlySpan<byte> udp, ref ParsedPacket p)
    {
        if (udp.Length < UdpHeaderLength)
        {
            p.Error = ShortHeader(p, DropReason.BadUdpHeader);
            return;
        }
        int udpLength = BinaryPrimitives.ReadUInt16BigEndian(udp.Slice(4));
        // Length 0 means a jumbogram (RFC 2675), which the switch does not carry. A first fragment holds
        // only part of the datagram, so its UDP length may exceed what is there.
        if (udpLength < UdpHeaderLength || (!p.IsFragment && udpLength > udp.Length))
        {
            p.Error = DropReason.BadUdpHeader;
            return;
        }
        p.HasPorts = true;
        p.SrcPort = BinaryPrimitives.ReadUInt16BigEndian(udp);
        p.DstPort = BinaryPrimitives.ReadUInt16BigEndian(udp.Slice(2));
        p.PayloadOffset = p.L4Offset + UdpHeaderLength;
        p.PayloadLength = (p.IsFragment ? udp.Length : udpLength) - UdpHeaderLength;

        if (p.DstPort == VxlanPort && !p.IsFragment)
            ParseVxlan(udp.Slice(UdpHeaderLength, p.PayloadLength), ref p);
    }

    private static void ParseVxlan(ReadOnlySpan<byte> vxlan, ref ParsedPacket p)
    {
        if (vxlan.Length < VxlanHeaderLength || (vxlan[0] & 0x08) == 0)
        {
            p.Error = DropReason.BadVxlanHeader;
            return;
        }
        p.Tunnel = TunnelKind.Vxlan;
        p.Vni = BinaryPrimitives.ReadUInt32BigEndian(vxlan.Slice(4)) >> 8;
        p.InnerOffset = p.PayloadOffset + VxlanHeaderLength;
        p.InnerEtherType = EtherType.TransparentEthernetBridging;
    }

    private static void ParseGre(ReadOnlySpan<byte> gre, ref ParsedPacket p)
    {
        if (gre.Length < GreBaseHeaderLength)
        {
            p.Error = DropReason.BadGreHeader;
            return;
        }
        ushort flags = BinaryPrimitives.ReadUInt16BigEndian(gre);
        // Like Linux's GRE receive path: version ≠ 0 (e.g. PPTP's enhanced GRE) and source routing are refused.
        if ((flags & (GreVersionMask | GreRouting)) != 0)
        {
            p.Error = DropReason.BadGreHeader;
            return;
        }
        int headerLength = GreBaseHeaderLength;
        if ((flags & GreChecksum) != 0)
            headerLength += 4;
        int keyOffset = headerLength;
        if ((flags & GreKey) != 0)
            headerLength += 4;
        if ((flags & GreSequence) != 0)
            headerLength += 4;
        if (headerLength > gre.Length)
        {
            p.Error = DropReason.BadGreHeader;
            return;
        }
        ushort protocolType = BinaryPrimitives.ReadUInt16BigEndian(gre.Slice(2));
        p.PayloadOffset = p.L4Offset + headerLength;
        p.PayloadLength = gre.Length - headerLength;
        if (p.IsFragment ||
            protocolType is not (EtherType.TransparentEthernetBridging or EtherType.IPv4 or EtherType.IPv6))
            return;
        p.Tunnel = TunnelKind.Gre;
        p.Vni = (flags & GreKey) != 0 ? BinaryPrimitives.ReadUInt32BigEndian(gre.Slice(keyOffset)) : 0;
        p.InnerOffset = p.PayloadOffset;
        p.InnerEtherType = protocolType;
    }

    private static void ParseIcmp(ReadOnlySpan<byte> icmp, bool isV6, ref ParsedPacket p)
    {
        if (icmp.Length < IcmpMinLength)
        {
            p.Error = DropReason.BadIcmpHeader;
            return;
        }
        byte type = icmp[0];
        byte code = icmp[1];
        p.IcmpType = type;
        p.IcmpCode = code;
        p.DstPort = (ushort)((type << 8) | code);
        if (IsIcmpQuery(type, isV6))
        {
            if (icmp.Length < IcmpHeaderLength)
            {
                p.Error = DropReason.BadIcmpHeader;
                return;
            }
            p.SrcPort = BinaryPrimitives.ReadUInt16BigEndian(icmp.Slice(4));
        }
        p.HasPorts = true;
        int headerLength = icmp.Length < IcmpHeaderLength ? IcmpMinLength : IcmpHeaderLength;
        p.PayloadOffset = p.L4Offset + headerLength;
        p.PayloadLength = icmp.Length - headerLength;

        if (icmp.Length >= IcmpHeaderLength && IsIcmpError(type, isV6))
        {
            if (isV6)
                ParseQuotedIpv6(icmp.Slice(IcmpHeaderLength), ref p);
            else
                ParseQuotedIpv4(icmp.Slice(IcmpHeaderLength), ref p);
        }
    }

    /// <summary>Query types carry an identifier that, like nf_conntrack, stands in for the source port.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsIcmpQuery(byte type, bool isV6) =>
        isV6
            ? type is 128 or 129 // echo request / reply
            : type is 0 or 8 // echo reply / request
                or 13 or 14 // timestamp
                or 15 or 16 // information
                or 17 or 18; // address mask

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsIcmpError(byte type, bool isV6) =>
        isV6
            ? type is 1 or 2 or 3 or 4 // unreachable, packet too big, time exceeded, parameter problem
            : type is 3 or 4 or 5 or 11 or 12; // unreachable, source quench, redirect, time exceeded, parameter problem

    /// <summary>An error quotes the offending IPv4 header and at least 8 bytes of its L4 header (RFC 792);
    /// a quote too short for the ports still names the connection's addresses.</summary>
    private static void ParseQuotedIpv4(ReadOnlySpan<byte> quoted, ref ParsedPacket p)
    {
        if (quoted.Length < Ipv4MinHeaderLength)
            return;
        int headerLength = (quoted[0] & 0x0F) << 2;
        if ((quoted[0] >> 4) != 4 || headerLength < Ipv4MinHeaderLength || headerLength > quoted.Length)
            return;
        SetQuotedError(NetAddress.FromV4Bytes(quoted.Slice(12)), NetAddress.FromV4Bytes(quoted.Slice(16)), quoted[9], ref p);
        bool firstFragment = (BinaryPrimitives.ReadUInt16BigEndian(quoted.Slice(6)) & 0x1FFF) == 0;
        if (firstFragment)
            ReadQuotedPorts(quoted.Slice(headerLength), ref p);
    }

    private static void ParseQuotedIpv6(ReadOnlySpan<byte> quoted, ref ParsedPacket p)
    {
        if (quoted.Length < Ipv6HeaderLength || (quoted[0] >> 4) != 6)
            return;
        var error = WalkIpv6Extensions(quoted, Ipv6HeaderLength, quoted[6], out Ipv6Chain chain);
        byte protocol = error == DropReason.None ? chain.Protocol : quoted[6];
        SetQuotedError(NetAddress.FromV6Bytes(quoted.Slice(8)), NetAddress.FromV6Bytes(quoted.Slice(24)), protocol, ref p);
        if (error == DropReason.None && chain.FragmentOffset == 0)
            ReadQuotedPorts(quoted.Slice(chain.L4Offset), ref p);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SetQuotedError(NetAddress src, NetAddress dst, byte protocol, ref ParsedPacket p)
    {
        p.IsIcmpError = true;
        p.InnerSrcIp = src;
        p.InnerDstIp = dst;
        p.InnerProtocol = protocol;
    }

    private static void ReadQuotedPorts(ReadOnlySpan<byte> l4, ref ParsedPacket p)
    {
        if (l4.Length < 4)
            return;
        switch (p.InnerProtocol)
        {
            case IpProtocol.Tcp:
            case IpProtocol.Udp:
                p.InnerSrcPort = BinaryPrimitives.ReadUInt16BigEndian(l4);
                p.InnerDstPort = BinaryPrimitives.ReadUInt16BigEndian(l4.Slice(2));
                break;
            case IpProtocol.Icmp:
            case IpProtocol.IcmpV6:
                byte type = l4[0];
                p.InnerDstPort = (ushort)((type << 8) | l4[1]);
                if (l4.Length >= IcmpHeaderLength && IsIcmpQuery(type, p.InnerProtocol == IpProtocol.IcmpV6))
                    p.InnerSrcPort = BinaryPrimitives.ReadUInt16BigEndian(l4.Slice(4));
                break;
        }
    }
}
