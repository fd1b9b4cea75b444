using System.Buffers.Binary;
using Offload.Datapath;
using Offload.Packets;

namespace Offload.Benchmarks.Workloads;

/// <summary>
/// 60-byte Ethernet/IPv4/UDP frames (64 B on the wire) built by hand, as a NIC would deliver them: one template per
/// flow direction, with the ports written per connection. UDP checksum 0 ("none"), so changing ports needs no
/// recomputation; the IPv4 header checksum is correct, so the NAT's incremental update runs on a real value.
/// </summary>
internal static class UdpFrames
{
    public const int Length = 60;
    public const int UdpOffset = 14 + 20;

    public static byte[] Template(MacAddress srcMac, MacAddress dstMac, NetAddress src, NetAddress dst)
    {
        var f = new byte[Length];
        dstMac.WriteTo(f);
        srcMac.WriteTo(f.AsSpan(6));
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(12), EtherType.IPv4);
        var ip = f.AsSpan(14, 20);
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip.Slice(2), Length - 14);
        ip[8] = 64;
        ip[9] = IpProtocol.Udp;
        src.WriteTo(ip.Slice(12));
        dst.WriteTo(ip.Slice(16));
        BinaryPrimitives.WriteUInt16BigEndian(ip.Slice(10), HeaderChecksum(ip));
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(UdpOffset + 4), Length - UdpOffset);
        for (int i = UdpOffset + 8; i < Length; i++)
            f[i] = (byte)i;
        return f;
    }

    /// <summary>Resets <paramref name="frame"/> to <paramref name="template"/> with the given ports (the datapath rewrote it last time).</summary>
    public static void Fill(ref InputFrame frame, byte[] template, ushort srcPort, ushort dstPort)
    {
        frame.Buffer.Offset = PacketBuffer.DefaultHeadroom;
        frame.Buffer.Length = Length;
        var span = frame.Buffer.Array.AsSpan(PacketBuffer.DefaultHeadroom, Length);
        template.CopyTo(span);
        BinaryPrimitives.WriteUInt16BigEndian(span.Slice(UdpOffset), srcPort);
        BinaryPrimitives.WriteUInt16BigEndian(span.Slice(UdpOffset + 2), dstPort);
    }

    public static InputFrame[] Batch(int count, ushort inPort)
    {
        var frames = new InputFrame[count];
        for (int i = 0; i < count; i++)
            frames[i] = new InputFrame(PacketBuffer.CopyOf(new byte[Length]), inPort);
        return frames;
    }

    private static ushort HeaderChecksum(ReadOnlySpan<byte> header)
    {
        uint sum = 0;
        for (int i = 0; i < header.Length; i += 2)
            sum += BinaryPrimitives.ReadUInt16BigEndian(header.Slice(i));
        while ((sum >> 16) != 0)
            sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)~sum;
    }
}
