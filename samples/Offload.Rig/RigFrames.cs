using System.Buffers.Binary;
using Offload.Packets;

namespace Offload.Rig;

/// <summary>Ethernet/IPv4 TCP and UDP frames with valid checksums, and VXLAN-encapsulated copies, for injection.</summary>
public static class RigFrames
{
    /// <summary>A TCP segment (ACK set, so it belongs to a connection the oracle has seen open).</summary>
    public static byte[] Tcp(MacAddress src, MacAddress dst, string srcIp, string dstIp, ushort sport, ushort dport, byte flags = 0x10, int payload = 16) =>
        Build(src, dst, srcIp, dstIp, IpProtocol.Tcp, sport, dport, flags, payload);

    /// <summary>A UDP datagram.</summary>
    public static byte[] Udp(MacAddress src, MacAddress dst, string srcIp, string dstIp, ushort sport, ushort dport, int payload = 16) =>
        Build(src, dst, srcIp, dstIp, IpProtocol.Udp, sport, dport, 0, payload);

    private static byte[] Build(MacAddress src, MacAddress dst, string srcIp, string dstIp, byte proto, ushort sport, ushort dport, byte flags, int payload)
    {
        int l4 = proto == IpProtocol.Tcp ? 20 : 8;
        byte[] f = new byte[14 + 20 + l4 + payload];
        dst.WriteTo(f.AsSpan(0, 6));
        src.WriteTo(f.AsSpan(6, 6));
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(12), 0x0800);
        uint s = NetAddress.Parse(srcIp).V4, d = NetAddress.Parse(dstIp).V4;
        WriteIpv4(f.AsSpan(14), (ushort)(20 + l4 + payload), proto, s, d);
        Span<byte> seg = f.AsSpan(34);
        BinaryPrimitives.WriteUInt16BigEndian(seg, sport);
        BinaryPrimitives.WriteUInt16BigEndian(seg[2..], dport);
        for (int i = 0; i < payload; i++)
            seg[l4 + i] = (byte)('a' + (i % 26));
        if (proto == IpProtocol.Tcp)
        {
            BinaryPrimitives.WriteUInt32BigEndian(seg[4..], 1000);
            BinaryPrimitives.WriteUInt32BigEndian(seg[8..], 2000);
            seg[12] = 0x50;
            seg[13] = flags;
            BinaryPrimitives.WriteUInt16BigEndian(seg[14..], 65535);
        }
        else
        {
            BinaryPrimitives.WriteUInt16BigEndian(seg[4..], (ushort)(8 + payload));
        }
        ushort sum = L4Checksum(s, d, proto, seg);
        BinaryPrimitives.WriteUInt16BigEndian(seg[(proto == IpProtocol.Tcp ? 16 : 6)..], proto == IpProtocol.Udp && sum == 0 ? (ushort)0xffff : sum);
        return f;
    }

    /// <summary>Wraps <paramref name="inner"/> in Ethernet/IPv4/UDP(4789)/VXLAN with <paramref name="vni"/>, as a remote host sends it.</summary>
    public static byte[] Vxlan(byte[] inner, uint vni, MacAddress outerSrc, MacAddress outerDst, string srcIp, string dstIp, ushort sport = 49152)
    {
        byte[] f = new byte[50 + inner.Length];
        outerDst.WriteTo(f.AsSpan(0, 6));
        outerSrc.WriteTo(f.AsSpan(6, 6));
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(12), 0x0800);
        WriteIpv4(f.AsSpan(14), (ushort)(36 + inner.Length), IpProtocol.Udp, NetAddress.Parse(srcIp).V4, NetAddress.Parse(dstIp).V4);
        Span<byte> udp = f.AsSpan(34);
        BinaryPrimitives.WriteUInt16BigEndian(udp, sport);
        BinaryPrimitives.WriteUInt16BigEndian(udp[2..], 4789);
        BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)(16 + inner.Length));
        udp[8] = 0x08;
        BinaryPrimitives.WriteUInt32BigEndian(udp[12..], vni << 8);
        inner.CopyTo(f.AsSpan(50));
        return f;
    }

    /// <summary>Wraps <paramref name="inner"/> in Ethernet/IPv4/GRE (key = <paramref name="vni"/>, protocol 0x6558: Ethernet).</summary>
    public static byte[] Gre(byte[] inner, uint vni, MacAddress outerSrc, MacAddress outerDst, string srcIp, string dstIp)
    {
        byte[] f = new byte[42 + inner.Length];
        outerDst.WriteTo(f.AsSpan(0, 6));
        outerSrc.WriteTo(f.AsSpan(6, 6));
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(12), 0x0800);
        WriteIpv4(f.AsSpan(14), (ushort)(28 + inner.Length), IpProtocol.Gre, NetAddress.Parse(srcIp).V4, NetAddress.Parse(dstIp).V4);
        Span<byte> gre = f.AsSpan(34);
        BinaryPrimitives.WriteUInt16BigEndian(gre, 0x2000);
        BinaryPrimitives.WriteUInt16BigEndian(gre[2..], 0x6558);
        BinaryPrimitives.WriteUInt32BigEndian(gre[4..], vni);
        inner.CopyTo(f.AsSpan(42));
        return f;
    }

    private static void WriteIpv4(Span<byte> ip, ushort totalLength, byte proto, uint src, uint dst)
    {
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], totalLength);
        BinaryPrimitives.WriteUInt16BigEndian(ip[4..], 0x1234);
        ip[6] = 0x40;
        ip[8] = 64;
        ip[9] = proto;
        BinaryPrimitives.WriteUInt32BigEndian(ip[12..], src);
        BinaryPrimitives.WriteUInt32BigEndian(ip[16..], dst);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Fold(Sum(ip[..20], 0)));
    }

    private static ushort L4Checksum(uint src, uint dst, byte proto, ReadOnlySpan<byte> segment)
    {
        uint sum = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto + (uint)segment.Length;
        return Fold(Sum(segment, sum));
    }

    private static uint Sum(ReadOnlySpan<byte> data, uint sum)
    {
        int i = 0;
        for (; i + 1 < data.Length; i += 2)
            sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        if (i < data.Length)
            sum += (uint)data[i] << 8;
        return sum;
    }

    private static ushort Fold(uint sum)
    {
        while (sum > 0xffff)
            sum = (sum & 0xffff) + (sum >> 16);
        return (ushort)~sum;
    }
}
