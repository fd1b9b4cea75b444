using System.Buffers.Binary;
using Offload.Actions;
using Offload.Capture;
using Offload.Packets;

namespace Offload.Cli.Tests;

/// <summary>Hand-built Ethernet frames with valid checksums, and a pcap writer for them.</summary>
internal static class TestFrames
{
    public static byte[] Udp(string srcMac, string dstMac, string src, ushort srcPort, string dst, ushort dstPort, int payload = 16)
    {
        var l4 = new byte[8 + payload];
        BinaryPrimitives.WriteUInt16BigEndian(l4, srcPort);
        BinaryPrimitives.WriteUInt16BigEndian(l4.AsSpan(2), dstPort);
        BinaryPrimitives.WriteUInt16BigEndian(l4.AsSpan(4), (ushort)l4.Length);
        uint pseudo = Checksum.PseudoHeaderSum(NetAddress.Parse(src), NetAddress.Parse(dst), IpProtocol.Udp, l4.Length);
        ushort sum = Checksum.Finish(Checksum.Sum(l4, pseudo));
        BinaryPrimitives.WriteUInt16BigEndian(l4.AsSpan(6), sum == 0 ? (ushort)0xFFFF : sum);
        return Ipv4(srcMac, dstMac, src, dst, IpProtocol.Udp, l4);
    }

    public static byte[] TcpSyn(string srcMac, string dstMac, string src, ushort srcPort, string dst, ushort dstPort)
    {
        var l4 = new byte[20];
        BinaryPrimitives.WriteUInt16BigEndian(l4, srcPort);
        BinaryPrimitives.WriteUInt16BigEndian(l4.AsSpan(2), dstPort);
        BinaryPrimitives.WriteUInt32BigEndian(l4.AsSpan(4), 1000);
        l4[12] = 5 << 4;
        l4[13] = (byte)TcpFlags.Syn;
        BinaryPrimitives.WriteUInt16BigEndian(l4.AsSpan(14), 64240);
        uint pseudo = Checksum.PseudoHeaderSum(NetAddress.Parse(src), NetAddress.Parse(dst), IpProtocol.Tcp, l4.Length);
        BinaryPrimitives.WriteUInt16BigEndian(l4.AsSpan(16), Checksum.Finish(Checksum.Sum(l4, pseudo)));
        return Ipv4(srcMac, dstMac, src, dst, IpProtocol.Tcp, l4);
    }

    public static byte[] ArpRequest(string senderMac, string senderIp, string targetIp)
    {
        var frame = new byte[60];
        MacAddress.Broadcast.WriteTo(frame);
        MacAddress.Parse(senderMac).WriteTo(frame.AsSpan(6));
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), EtherType.Arp);
        var arp = frame.AsSpan(14);
        BinaryPrimitives.WriteUInt16BigEndian(arp, 1);
        BinaryPrimitives.WriteUInt16BigEndian(arp.Slice(2), EtherType.IPv4);
        arp[4] = 6;
        arp[5] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(arp.Slice(6), 1);
        MacAddress.Parse(senderMac).WriteTo(arp.Slice(8));
        NetAddress.Parse(senderIp).WriteTo(arp.Slice(14));
        NetAddress.Parse(targetIp).WriteTo(arp.Slice(24));
        return frame;
    }

    /// <summary>Writes <paramref name="frames"/> one millisecond apart.</summary>
    public static void WritePcap(string path, IEnumerable<byte[]> frames)
    {
        using var writer = PcapWriter.Create(path);
        var t = new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);
        foreach (var f in frames)
        {
            writer.Write(t, f);
            t = t.AddMilliseconds(1);
        }
    }

    private static byte[] Ipv4(string srcMac, string dstMac, string src, string dst, byte protocol, byte[] l4)
    {
        var frame = new byte[34 + l4.Length];
        MacAddress.Parse(dstMac).WriteTo(frame);
        MacAddress.Parse(srcMac).WriteTo(frame.AsSpan(6));
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), EtherType.IPv4);
        var ip = frame.AsSpan(14, 20);
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip.Slice(2), (ushort)(20 + l4.Length));
        ip[8] = 64;
        ip[9] = protocol;
        NetAddress.Parse(src).WriteTo(ip.Slice(12));
        NetAddress.Parse(dst).WriteTo(ip.Slice(16));
        BinaryPrimitives.WriteUInt16BigEndian(ip.Slice(10), Checksum.Compute(ip));
        l4.CopyTo(frame.AsSpan(34));
        return frame;
    }
}
