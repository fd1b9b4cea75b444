using System.Buffers.Binary;
using Offload.Packets;

namespace Offload.Kernel.Tests.PacketIo;

/// <summary>Builds Ethernet/IPv4 frames with correct checksums for the kernel to accept.</summary>
public static class TestFrames
{
    /// <summary>EtherType for local experiments (IEEE 802 local experimental 1); nothing on the host reacts to it.</summary>
    public const ushort Experimental = 0x88B5;

    /// <summary>An Ethernet frame of the experimental type carrying <paramref name="payload"/>.</summary>
    public static byte[] Raw(MacAddress destination, MacAddress source, ReadOnlySpan<byte> payload)
    {
        var frame = new byte[14 + payload.Length];
        destination.WriteTo(frame);
        source.WriteTo(frame.AsSpan(6));
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), Experimental);
        payload.CopyTo(frame.AsSpan(14));
        return frame;
    }

    /// <summary>Ethernet + IPv4 + UDP (checksum 0, allowed over IPv4).</summary>
    public static byte[] Udp(MacAddress dstMac, MacAddress srcMac, uint srcIp, uint dstIp, ushort srcPort, ushort dstPort, ReadOnlySpan<byte> payload)
    {
        byte[] frame = Ipv4(dstMac, srcMac, srcIp, dstIp, 17, 8 + payload.Length, out int l4);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(l4), srcPort);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(l4 + 2), dstPort);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(l4 + 4), (ushort)(8 + payload.Length));
        payload.CopyTo(frame.AsSpan(l4 + 8));
        return frame;
    }

    /// <summary>Ethernet + IPv4 + ICMP echo request.</summary>
    public static byte[] EchoRequest(MacAddress dstMac, MacAddress srcMac, uint srcIp, uint dstIp, ushort id, ushort sequence, ReadOnlySpan<byte> payload)
    {
        byte[] frame = Ipv4(dstMac, srcMac, srcIp, dstIp, 1, 8 + payload.Length, out int l4);
        frame[l4] = 8;
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(l4 + 4), id);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(l4 + 6), sequence);
        payload.CopyTo(frame.AsSpan(l4 + 8));
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(l4 + 2), Checksum(frame.AsSpan(l4)));
        return frame;
    }

    /// <summary>The IPv4 address a.b.c.d in host order.</summary>
    public static uint V4(string dotted) => NetAddress.Parse(dotted).V4;

    /// <summary>The Internet checksum of <paramref name="data"/>.</summary>
    public static ushort Checksum(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        int i = 0;
        for (; i + 1 < data.Length; i += 2)
            sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        if (i < data.Length)
            sum += (uint)data[i] << 8;
        while (sum > 0xFFFF)
            sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)~sum;
    }

    private static byte[] Ipv4(MacAddress dstMac, MacAddress srcMac, uint srcIp, uint dstIp, byte protocol, int l4Length, out int l4)
    {
        var frame = new byte[14 + 20 + l4Length];
        dstMac.WriteTo(frame);
        srcMac.WriteTo(frame.AsSpan(6));
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), 0x0800);
        Span<byte> ip = frame.AsSpan(14, 20);
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(20 + l4Length));
        ip[8] = 64;
        ip[9] = protocol;
        BinaryPrimitives.WriteUInt32BigEndian(ip[12..], srcIp);
        BinaryPrimitives.WriteUInt32BigEndian(ip[16..], dstIp);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Checksum(ip));
        l4 = 34;
        return frame;
    }
}
