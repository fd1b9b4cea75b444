using System.Buffers.Binary;
using Offload.Packets;

namespace Offload.MetricsSample;

// Ethernet + IPv4 + UDP/TCP, with the IPv4 header checksum and the TCP checksum (UDP's may be zero over IPv4).
internal static class Frames
{
    public static byte[] Udp(MacAddress src, MacAddress dst, string srcIp, ushort sport, string dstIp, ushort dport)
    {
        var l4 = new byte[8 + 16];
        BinaryPrimitives.WriteUInt16BigEndian(l4, sport);
        BinaryPrimitives.WriteUInt16BigEndian(l4.AsSpan(2), dport);
        BinaryPrimitives.WriteUInt16BigEndian(l4.AsSpan(4), (ushort)l4.Length);
        return Ip(src, dst, srcIp, dstIp, 17, l4);
    }

    public static byte[] TcpSyn(MacAddress src, MacAddress dst, string srcIp, ushort sport, string dstIp, ushort dport)
    {
        var l4 = new byte[20];
        BinaryPrimitives.WriteUInt16BigEndian(l4, sport);
        BinaryPrimitives.WriteUInt16BigEndian(l4.AsSpan(2), dport);
        BinaryPrimitives.WriteUInt32BigEndian(l4.AsSpan(4), 1000);
        l4[12] = 5 << 4;
        l4[13] = 0x02; // SYN
        BinaryPrimitives.WriteUInt16BigEndian(l4.AsSpan(14), 65535);
        var pseudo = new byte[12 + l4.Length];
        NetAddress.Parse(srcIp).WriteTo(pseudo);
        NetAddress.Parse(dstIp).WriteTo(pseudo.AsSpan(4));
        pseudo[9] = 6;
        BinaryPrimitives.WriteUInt16BigEndian(pseudo.AsSpan(10), (ushort)l4.Length);
        l4.CopyTo(pseudo, 12);
        BinaryPrimitives.WriteUInt16BigEndian(l4.AsSpan(16), Checksum(pseudo));
        return Ip(src, dst, srcIp, dstIp, 6, l4);
    }

    private static byte[] Ip(MacAddress src, MacAddress dst, string srcIp, string dstIp, byte protocol, byte[] l4)
    {
        var f = new byte[14 + 20 + l4.Length];
        dst.WriteTo(f);
        src.WriteTo(f.AsSpan(6));
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(12), 0x0800);
        var ip = f.AsSpan(14, 20);
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip.Slice(2), (ushort)(20 + l4.Length));
        ip[8] = 64;
        ip[9] = protocol;
        NetAddress.Parse(srcIp).WriteTo(ip.Slice(12));
        NetAddress.Parse(dstIp).WriteTo(ip.Slice(16));
        BinaryPrimitives.WriteUInt16BigEndian(ip.Slice(10), Checksum(ip));
        l4.CopyTo(f, 34);
        return f;
    }

    private static ushort Checksum(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        for (int i = 0; i + 1 < data.Length; i += 2)
            sum += BinaryPrimitives.ReadUInt16BigEndian(data.Slice(i));
        if ((data.Length & 1) != 0)
            sum += (uint)data[^1] << 8;
        while (sum > 0xFFFF)
            sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)~sum;
    }
}
