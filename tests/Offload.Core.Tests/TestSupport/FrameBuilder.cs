using System.Buffers.Binary;
using Offload.Packets;

namespace Offload.Tests.TestSupport;

/// <summary>
/// Builds Ethernet frames byte by byte for tests, with checksums from a deliberately naive RFC 1071
/// loop (<see cref="ReferenceSum"/>) so the code under test is never its own oracle.
/// </summary>
internal static class FrameBuilder
{
    public static readonly MacAddress MacA = MacAddress.Parse("02:00:00:00:00:0a");
    public static readonly MacAddress MacB = MacAddress.Parse("02:00:00:00:00:0b");

    /// <summary>Ones' complement sum of 16-bit big-endian words, one word at a time.</summary>
    public static uint ReferenceSum(ReadOnlySpan<byte> data, uint sum = 0)
    {
        for (int i = 0; i < data.Length; i += 2)
        {
            uint word = (uint)data[i] << 8;
            if (i + 1 < data.Length)
                word |= data[i + 1];
            sum += word;
            while (sum > 0xFFFF)
                sum = (sum & 0xFFFF) + (sum >> 16);
        }
        return sum;
    }

    public static byte[] PseudoHeader(NetAddress src, NetAddress dst, byte protocol, int length)
    {
        if (src.IsV4)
        {
            var p = new byte[12];
            src.WriteTo(p);
            dst.WriteTo(p.AsSpan(4));
            p[9] = protocol;
            BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(10), (ushort)length);
            return p;
        }
        var p6 = new byte[40];
        src.WriteTo(p6);
        dst.WriteTo(p6.AsSpan(16));
        BinaryPrimitives.WriteInt32BigEndian(p6.AsSpan(32), length);
        p6[39] = protocol;
        return p6;
    }

    /// <summary>The checksum of an L4 segment (checksum field as given) with its pseudo-header.</summary>
    public static ushort L4Checksum(NetAddress src, NetAddress dst, byte protocol, ReadOnlySpan<byte> segment) =>
        (ushort)~ReferenceSum(segment, ReferenceSum(PseudoHeader(src, dst, protocol, segment.Length)));

    public static byte[] Tcp(NetAddress src, NetAddress dst, ushort sport, ushort dport, ReadOnlySpan<byte> payload, uint seq = 1000)
    {
        var s = new byte[20 + payload.Length];
        BinaryPrimitives.WriteUInt16BigEndian(s, sport);
        BinaryPrimitives.WriteUInt16BigEndian(s.AsSpan(2), dport);
        BinaryPrimitives.WriteUInt32BigEndian(s.AsSpan(4), seq);
        BinaryPrimitives.WriteUInt32BigEndian(s.AsSpan(8), 77);
        s[12] = 5 << 4;
        s[13] = 0x18; // PSH|ACK
        BinaryPrimitives.WriteUInt16BigEndian(s.AsSpan(14), 64240);
        payload.CopyTo(s.AsSpan(20));
        BinaryPrimitives.WriteUInt16BigEndian(s.AsSpan(16), L4Checksum(src, dst, 6, s));
        return s;
    }

    public static byte[] Udp(NetAddress src, NetAddress dst, ushort sport, ushort dport, ReadOnlySpan<byte> payload, bool withChecksum = true)
    {
        var s = new byte[8 + payload.Length];
        BinaryPrimitives.WriteUInt16BigEndian(s, sport);
        BinaryPrimitives.WriteUInt16BigEndian(s.AsSpan(2), dport);
        BinaryPrimitives.WriteUInt16BigEndian(s.AsSpan(4), (ushort)s.Length);
        payload.CopyTo(s.AsSpan(8));
        if (withChecksum)
        {
            ushort c = L4Checksum(src, dst, 17, s);
            BinaryPrimitives.WriteUInt16BigEndian(s.AsSpan(6), c == 0 ? (ushort)0xFFFF : c);
        }
        return s;
    }

    /// <summary>ICMP (or ICMPv6 when the addresses are IPv6) message of any type with a 4-byte rest-of-header.</summary>
    public static byte[] Icmp(NetAddress src, NetAddress dst, byte type, byte code, uint restOfHeader, ReadOnlySpan<byte> body)
    {
        var s = new byte[8 + body.Length];
        s[0] = type;
        s[1] = code;
        BinaryPrimitives.WriteUInt32BigEndian(s.AsSpan(4), restOfHeader);
        body.CopyTo(s.AsSpan(8));
        ushort c = src.IsV4 ? (ushort)~ReferenceSum(s) : L4Checksum(src, dst, 58, s);
        BinaryPrimitives.WriteUInt16BigEndian(s.AsSpan(2), c);
        return s;
    }

    public static byte[] IcmpEcho(NetAddress src, NetAddress dst, ushort id, ushort seq, bool request = true) =>
        Icmp(src, dst, src.IsV4 ? (byte)(request ? 8 : 0) : (byte)(request ? 128 : 129), 0, ((uint)id << 16) | seq,
            "abcdefghijklmnop"u8);

    /// <summary>An IPv4 or IPv6 packet (by the address family) around <paramref name="l4"/>.</summary>
    public static byte[] Ip(NetAddress src, NetAddress dst, byte protocol, ReadOnlySpan<byte> l4, byte ttl = 64,
        ushort id = 0x1234, ushort flagsAndOffset = 0x4000)
    {
        if (src.IsV4)
        {
            var p = new byte[20 + l4.Length];
            p[0] = 0x45;
            BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(2), (ushort)p.Length);
            BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), id);
            BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(6), flagsAndOffset);
            p[8] = ttl;
            p[9] = protocol;
            src.WriteTo(p.AsSpan(12));
            dst.WriteTo(p.AsSpan(16));
            BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(10), (ushort)~ReferenceSum(p.AsSpan(0, 20)));
            l4.CopyTo(p.AsSpan(20));
            return p;
        }
        var q = new byte[40 + l4.Length];
        q[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(q.AsSpan(4), (ushort)l4.Length);
        q[6] = protocol;
        q[7] = ttl;
        src.WriteTo(q.AsSpan(8));
        dst.WriteTo(q.AsSpan(24));
        l4.CopyTo(q.AsSpan(40));
        return q;
    }

    public static byte[] Ethernet(MacAddress dst, MacAddress src, ushort etherType, ReadOnlySpan<byte> payload)
    {
        var f = new byte[14 + payload.Length];
        dst.WriteTo(f);
        src.WriteTo(f.AsSpan(6));
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(12), etherType);
        payload.CopyTo(f.AsSpan(14));
        return f;
    }

    public static byte[] IpFrame(NetAddress src, NetAddress dst, byte protocol, ReadOnlySpan<byte> l4, byte ttl = 64) =>
        Ethernet(MacB, MacA, src.IsV4 ? EtherType.IPv4 : EtherType.IPv6, Ip(src, dst, protocol, l4, ttl));

    public static byte[] TcpFrame(string src, ushort sport, string dst, ushort dport, int payloadLength = 37, byte ttl = 64)
    {
        var s = NetAddress.Parse(src);
        var d = NetAddress.Parse(dst);
        return IpFrame(s, d, 6, Tcp(s, d, sport, dport, Payload(payloadLength)), ttl);
    }

    public static byte[] UdpFrame(string src, ushort sport, string dst, ushort dport, int payloadLength = 23, bool withChecksum = true)
    {
        var s = NetAddress.Parse(src);
        var d = NetAddress.Parse(dst);
        return IpFrame(s, d, 17, Udp(s, d, sport, dport, Payload(payloadLength), withChecksum));
    }

    public static byte[] EchoFrame(string src, string dst, ushort id, bool request = true)
    {
        var s = NetAddress.Parse(src);
        var d = NetAddress.Parse(dst);
        return IpFrame(s, d, s.IsV4 ? (byte)1 : (byte)58, IcmpEcho(s, d, id, 7, request));
    }

    public static byte[] Payload(int length)
    {
        var p = new byte[length];
        for (int i = 0; i < p.Length; i++)
            p[i] = (byte)(i * 7 + 3);
        return p;
    }

    /// <summary>Outer Ethernet/IP/UDP/VXLAN around <paramref name="inner"/>, UDP checksum 0 (IPv4) or computed (IPv6).</summary>
    public static byte[] Vxlan(string outerSrc, string outerDst, uint vni, ReadOnlySpan<byte> inner, ushort sport = 50000)
    {
        var s = NetAddress.Parse(outerSrc);
        var d = NetAddress.Parse(outerDst);
        var vx = new byte[8 + inner.Length];
        vx[0] = 0x08;
        BinaryPrimitives.WriteUInt32BigEndian(vx.AsSpan(4), vni << 8);
        inner.CopyTo(vx.AsSpan(8));
        return IpFrame(s, d, 17, Udp(s, d, sport, 4789, vx, withChecksum: !s.IsV4));
    }

    /// <summary>Outer Ethernet/IP/GRE (K flag, key = <paramref name="vni"/>) around <paramref name="inner"/>.</summary>
    public static byte[] Gre(string outerSrc, string outerDst, uint vni, ushort protocol, ReadOnlySpan<byte> inner)
    {
        var s = NetAddress.Parse(outerSrc);
        var d = NetAddress.Parse(outerDst);
        var g = new byte[8 + inner.Length];
        BinaryPrimitives.WriteUInt16BigEndian(g, 0x2000);
        BinaryPrimitives.WriteUInt16BigEndian(g.AsSpan(2), protocol);
        BinaryPrimitives.WriteUInt32BigEndian(g.AsSpan(4), vni);
        inner.CopyTo(g.AsSpan(8));
        return IpFrame(s, d, 47, g);
    }
}
