using System.Buffers.Binary;
using System.Net;
using System.Net.NetworkInformation;
using PacketDotNet;
using Offload.Packets;

namespace Offload.Tests.Datapath;

/// <summary>Frames for datapath tests, built with PacketDotNet (an independent encoder) plus hand-built tunnel headers.</summary>
internal static class TestFrames
{
    public static readonly MacAddress Vm1Mac = MacAddress.Parse("02:00:00:01:00:01");
    public static readonly MacAddress Vm2Mac = MacAddress.Parse("02:00:00:01:00:02");
    public static readonly MacAddress GatewayMac = MacAddress.Parse("02:00:00:00:ff:fe");

    public static byte[] Tcp(string src, ushort srcPort, string dst, ushort dstPort, bool syn = false, bool ack = false,
        bool fin = false, bool rst = false, uint seq = 1000, uint ackNo = 0, int payload = 0,
        MacAddress? srcMac = null, MacAddress? dstMac = null, byte ttl = 64)
    {
        var tcp = new TcpPacket(srcPort, dstPort)
        {
            Synchronize = syn, Acknowledgment = ack, Finished = fin, Reset = rst,
            SequenceNumber = seq, AcknowledgmentNumber = ackNo, WindowSize = 64240,
            PayloadData = Payload(payload),
        };
        return Wrap(src, dst, tcp, srcMac, dstMac, ttl, t => ((TcpPacket)t).UpdateTcpChecksum());
    }

    public static byte[] Udp(string src, ushort srcPort, string dst, ushort dstPort, int payload = 16,
        MacAddress? srcMac = null, MacAddress? dstMac = null, byte ttl = 64)
    {
        var udp = new UdpPacket(srcPort, dstPort) { PayloadData = Payload(payload) };
        return Wrap(src, dst, udp, srcMac, dstMac, ttl, t => ((UdpPacket)t).UpdateUdpChecksum());
    }

    public static byte[] IcmpEcho(string src, string dst, ushort id, ushort sequence, bool reply = false, MacAddress? srcMac = null)
    {
        var body = new byte[8 + 16];
        body[0] = reply ? (byte)0 : (byte)8;
        BinaryPrimitives.WriteUInt16BigEndian(body.AsSpan(4), id);
        BinaryPrimitives.WriteUInt16BigEndian(body.AsSpan(6), sequence);
        BinaryPrimitives.WriteUInt16BigEndian(body.AsSpan(2), InternetChecksum(body));
        return RawIpv4(src, dst, 1, body, srcMac ?? Vm1Mac, GatewayMac);
    }

    /// <summary>An ICMP destination-unreachable error from <paramref name="src"/> quoting <paramref name="quotedFrame"/>'s IP packet.</summary>
    public static byte[] IcmpUnreachable(string src, string dst, byte[] quotedFrame, MacAddress? srcMac = null)
    {
        int quoted = Math.Min(quotedFrame.Length - 14, 28);
        var body = new byte[8 + quoted];
        body[0] = 3;
        body[1] = 3;
        quotedFrame.AsSpan(14, quoted).CopyTo(body.AsSpan(8));
        BinaryPrimitives.WriteUInt16BigEndian(body.AsSpan(2), InternetChecksum(body));
        return RawIpv4(src, dst, 1, body, srcMac ?? Vm2Mac, GatewayMac);
    }

    public static byte[] RawIpv4(string src, string dst, byte protocol, byte[] l4, MacAddress srcMac, MacAddress dstMac, byte ttl = 64)
    {
        var frame = new byte[14 + 20 + l4.Length];
        srcMac.WriteTo(frame.AsSpan(6));
        dstMac.WriteTo(frame.AsSpan(0));
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), EtherType.IPv4);
        var ip = frame.AsSpan(14, 20);
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip.Slice(2), (ushort)(20 + l4.Length));
        ip[8] = ttl;
        ip[9] = protocol;
        NetAddress.Parse(src).WriteTo(ip.Slice(12));
        NetAddress.Parse(dst).WriteTo(ip.Slice(16));
        BinaryPrimitives.WriteUInt16BigEndian(ip.Slice(10), InternetChecksum(ip));
        l4.CopyTo(frame.AsSpan(34));
        return frame;
    }

    /// <summary>Wraps <paramref name="inner"/> in Ethernet/IPv4/UDP/VXLAN, as another host's switch would.</summary>
    public static byte[] Vxlan(byte[] inner, uint vni, string outerSrc, string outerDst, MacAddress outerSrcMac, MacAddress outerDstMac, ushort srcPort = 50000)
    {
        var l4 = new byte[8 + 8 + inner.Length];
        BinaryPrimitives.WriteUInt16BigEndian(l4, srcPort);
        BinaryPrimitives.WriteUInt16BigEndian(l4.AsSpan(2), 4789);
        BinaryPrimitives.WriteUInt16BigEndian(l4.AsSpan(4), (ushort)l4.Length);
        l4[8] = 0x08;
        BinaryPrimitives.WriteUInt32BigEndian(l4.AsSpan(12), vni << 8);
        inner.CopyTo(l4.AsSpan(16));
        return RawIpv4(outerSrc, outerDst, 17, l4, outerSrcMac, outerDstMac);
    }

    /// <summary>Wraps <paramref name="inner"/> in Ethernet/IPv4/GRE(key)/TEB.</summary>
    public static byte[] Gre(byte[] inner, uint key, string outerSrc, string outerDst, MacAddress outerSrcMac, MacAddress outerDstMac)
    {
        var l4 = new byte[8 + inner.Length];
        l4[0] = 0x20; // K
        BinaryPrimitives.WriteUInt16BigEndian(l4.AsSpan(2), EtherType.TransparentEthernetBridging);
        BinaryPrimitives.WriteUInt32BigEndian(l4.AsSpan(4), key);
        inner.CopyTo(l4.AsSpan(8));
        return RawIpv4(outerSrc, outerDst, 47, l4, outerSrcMac, outerDstMac);
    }

    private static byte[] Wrap(string src, string dst, Packet l4, MacAddress? srcMac, MacAddress? dstMac, byte ttl, Action<Packet> checksum)
    {
        var s = IPAddress.Parse(src);
        var d = IPAddress.Parse(dst);
        Packet ip = s.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork
            ? new IPv4Packet(s, d) { TimeToLive = ttl, PayloadPacket = l4 }
            : new IPv6Packet(s, d) { HopLimit = ttl, PayloadPacket = l4 };
        var eth = new EthernetPacket(Physical(srcMac ?? Vm1Mac), Physical(dstMac ?? GatewayMac),
            ip is IPv4Packet ? EthernetType.IPv4 : EthernetType.IPv6) { PayloadPacket = ip };
        eth.UpdateCalculatedValues();
        checksum(l4);
        if (ip is IPv4Packet v4)
            v4.UpdateIPChecksum();
        return eth.Bytes;
    }

    private static PhysicalAddress Physical(MacAddress mac)
    {
        var b = new byte[6];
        mac.WriteTo(b);
        return new PhysicalAddress(b);
    }

    private static byte[] Payload(int n)
    {
        var b = new byte[n];
        for (int i = 0; i < n; i++)
            b[i] = (byte)(i * 7 + 1);
        return b;
    }

    public static ushort InternetChecksum(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        int i = 0;
        for (; i + 1 < data.Length; i += 2)
            sum += BinaryPrimitives.ReadUInt16BigEndian(data.Slice(i));
        if (i < data.Length)
            sum += (uint)data[i] << 8;
        while ((sum >> 16) != 0)
            sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)~sum;
    }
}
