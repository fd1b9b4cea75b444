using System.Buffers.Binary;
using Offload.Actions;
using Offload.Packets;

namespace Offload.Cli.Demo;

/// <summary>Builds the demo's generated traffic: Ethernet/IPv4 frames with valid checksums, ARP requests, and VXLAN or GRE around them.</summary>
internal static class DemoFrames
{
    public static byte[] Tcp(MacAddress srcMac, MacAddress dstMac, NetAddress src, ushort srcPort, NetAddress dst, ushort dstPort,
        TcpFlags flags, uint seq, uint ack, int payload)
    {
        var l4 = new byte[20 + payload];
        BinaryPrimitives.WriteUInt16BigEndian(l4, srcPort);
        BinaryPrimitives.WriteUInt16BigEndian(l4.AsSpan(2), dstPort);
        BinaryPrimitives.WriteUInt32BigEndian(l4.AsSpan(4), seq);
        BinaryPrimitives.WriteUInt32BigEndian(l4.AsSpan(8), ack);
        l4[12] = 5 << 4;
        l4[13] = (byte)flags;
        BinaryPrimitives.WriteUInt16BigEndian(l4.AsSpan(14), 64240);
        Fill(l4.AsSpan(20));
        uint pseudo = Checksum.PseudoHeaderSum(src, dst, IpProtocol.Tcp, l4.Length);
        BinaryPrimitives.WriteUInt16BigEndian(l4.AsSpan(16), Checksum.Finish(Checksum.Sum(l4, pseudo)));
        return Ipv4(srcMac, dstMac, src, dst, IpProtocol.Tcp, l4);
    }

    public static byte[] Udp(MacAddress srcMac, MacAddress dstMac, NetAddress src, ushort srcPort, NetAddress dst, ushort dstPort, int payload)
    {
        var l4 = new byte[8 + payload];
        BinaryPrimitives.WriteUInt16BigEndian(l4, srcPort);
        BinaryPrimitives.WriteUInt16BigEndian(l4.AsSpan(2), dstPort);
        BinaryPrimitives.WriteUInt16BigEndian(l4.AsSpan(4), (ushort)l4.Length);
        Fill(l4.AsSpan(8));
        uint pseudo = Checksum.PseudoHeaderSum(src, dst, IpProtocol.Udp, l4.Length);
        ushort sum = Checksum.Finish(Checksum.Sum(l4, pseudo));
        BinaryPrimitives.WriteUInt16BigEndian(l4.AsSpan(6), sum == 0 ? (ushort)0xFFFF : sum);
        return Ipv4(srcMac, dstMac, src, dst, IpProtocol.Udp, l4);
    }

    public static byte[] Echo(MacAddress srcMac, MacAddress dstMac, NetAddress src, NetAddress dst, ushort id, ushort sequence, bool reply)
    {
        var l4 = new byte[8 + 32];
        l4[0] = reply ? (byte)0 : (byte)8;
        BinaryPrimitives.WriteUInt16BigEndian(l4.AsSpan(4), id);
        BinaryPrimitives.WriteUInt16BigEndian(l4.AsSpan(6), sequence);
        Fill(l4.AsSpan(8));
        BinaryPrimitives.WriteUInt16BigEndian(l4.AsSpan(2), Checksum.Compute(l4));
        return Ipv4(srcMac, dstMac, src, dst, IpProtocol.Icmp, l4);
    }

    /// <summary>Another host's switch sending <paramref name="inner"/> to us over VXLAN.</summary>
    public static byte[] Vxlan(byte[] inner, uint vni, MacAddress srcMac, MacAddress dstMac, NetAddress src, NetAddress dst, ushort srcPort)
    {
        var l4 = new byte[16 + inner.Length];
        BinaryPrimitives.WriteUInt16BigEndian(l4, srcPort);
        BinaryPrimitives.WriteUInt16BigEndian(l4.AsSpan(2), EncapTemplate.VxlanPort);
        BinaryPrimitives.WriteUInt16BigEndian(l4.AsSpan(4), (ushort)l4.Length);
        l4[8] = 0x08;
        BinaryPrimitives.WriteUInt32BigEndian(l4.AsSpan(12), vni << 8);
        inner.CopyTo(l4.AsSpan(16));
        return Ipv4(srcMac, dstMac, src, dst, IpProtocol.Udp, l4);
    }

    /// <summary>Another host's switch sending <paramref name="inner"/> to us over GRE (key = VNI, Ethernet payload).</summary>
    public static byte[] Gre(byte[] inner, uint vni, MacAddress srcMac, MacAddress dstMac, NetAddress src, NetAddress dst)
    {
        var l4 = new byte[8 + inner.Length];
        BinaryPrimitives.WriteUInt16BigEndian(l4, 0x2000); // K: a key follows
        BinaryPrimitives.WriteUInt16BigEndian(l4.AsSpan(2), EtherType.TransparentEthernetBridging);
        BinaryPrimitives.WriteUInt32BigEndian(l4.AsSpan(4), vni);
        inner.CopyTo(l4.AsSpan(8));
        return Ipv4(srcMac, dstMac, src, dst, IpProtocol.Gre, l4);
    }

    /// <summary>An ARP who-has broadcast, padded to the Ethernet minimum as a NIC sends it.</summary>
    public static byte[] ArpRequest(MacAddress senderMac, NetAddress senderIp, NetAddress targetIp)
    {
        var frame = new byte[60];
        MacAddress.Broadcast.WriteTo(frame);
        senderMac.WriteTo(frame.AsSpan(6));
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), EtherType.Arp);
        var arp = frame.AsSpan(14);
        BinaryPrimitives.WriteUInt16BigEndian(arp, 1); // Ethernet
        BinaryPrimitives.WriteUInt16BigEndian(arp.Slice(2), EtherType.IPv4);
        arp[4] = 6;
        arp[5] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(arp.Slice(6), 1); // request
        senderMac.WriteTo(arp.Slice(8));
        senderIp.WriteTo(arp.Slice(14));
        targetIp.WriteTo(arp.Slice(24));
        return frame;
    }

    private static byte[] Ipv4(MacAddress srcMac, MacAddress dstMac, NetAddress src, NetAddress dst, byte protocol, byte[] l4)
    {
        var frame = new byte[34 + l4.Length];
        dstMac.WriteTo(frame);
        srcMac.WriteTo(frame.AsSpan(6));
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), EtherType.IPv4);
        var ip = frame.AsSpan(14, 20);
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip.Slice(2), (ushort)(20 + l4.Length));
        ip[6] = 0x40; // DF
        ip[8] = 64;
        ip[9] = protocol;
        src.WriteTo(ip.Slice(12));
        dst.WriteTo(ip.Slice(16));
        BinaryPrimitives.WriteUInt16BigEndian(ip.Slice(10), Checksum.Compute(ip));
        l4.CopyTo(frame.AsSpan(34));
        return frame;
    }

    private static void Fill(Span<byte> payload)
    {
        for (int i = 0; i < payload.Length; i++)
            payload[i] = (byte)('a' + i % 26);
    }
}
