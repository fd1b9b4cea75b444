using System.Buffers.Binary;
using Offload.Kernel.Devices;
using Offload.Kernel.Tests.PacketIo;
using Offload.Packets;

namespace Offload.Kernel.Tests.SlowPath;

/// <summary>TCP SYN frames for the kernel slow path, and reading the kernel's output from a TAP.</summary>
internal static class SlowPathFrames
{
    public const int IpOffset = 14;
    public const int TcpOffset = 34;

    /// <summary>Ethernet + IPv4 (TTL 64) + TCP SYN with correct checksums (conntrack drops a bad TCP checksum as invalid).</summary>
    public static byte[] Syn(MacAddress dstMac, MacAddress srcMac, string srcIp, ushort srcPort, string dstIp, ushort dstPort)
    {
        var frame = new byte[TcpOffset + 20];
        dstMac.WriteTo(frame);
        srcMac.WriteTo(frame.AsSpan(6));
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), 0x0800);
        Span<byte> ip = frame.AsSpan(IpOffset, 20);
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], 40);
        ip[8] = 64;
        ip[9] = 6;
        BinaryPrimitives.WriteUInt32BigEndian(ip[12..], TestFrames.V4(srcIp));
        BinaryPrimitives.WriteUInt32BigEndian(ip[16..], TestFrames.V4(dstIp));
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], TestFrames.Checksum(ip));
        Span<byte> tcp = frame.AsSpan(TcpOffset, 20);
        BinaryPrimitives.WriteUInt16BigEndian(tcp, srcPort);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[2..], dstPort);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[4..], 1000);
        tcp[12] = 5 << 4;
        tcp[13] = 0x02; // SYN
        BinaryPrimitives.WriteUInt16BigEndian(tcp[14..], 65535);
        var pseudo = new byte[12 + 20];
        ip.Slice(12, 8).CopyTo(pseudo);
        pseudo[9] = 6;
        BinaryPrimitives.WriteUInt16BigEndian(pseudo.AsSpan(10), 20);
        tcp.CopyTo(pseudo.AsSpan(12));
        BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], TestFrames.Checksum(pseudo));
        return frame;
    }

    /// <summary>
    /// The first IPv4 TCP frame out of <paramref name="tap"/> with source port <paramref name="srcPort"/> within
    /// <paramref name="timeout"/> (skipping the kernel's own IPv6 chatter on the link); null if none came.
    /// </summary>
    public static byte[]? ReadTcp(TapDevice tap, ushort srcPort, TimeSpan timeout)
    {
        var buffer = new byte[2048];
        long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        do
        {
            while (tap.TryRead(buffer, out int length))
            {
                if (length >= TcpOffset + 20 && BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(12)) == 0x0800
                    && buffer[IpOffset + 9] == 6 && BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(TcpOffset)) == srcPort)
                    return buffer[..length];
            }
            Thread.Sleep(5);
        }
        while (Environment.TickCount64 < deadline);
        return null;
    }

    public static MacAddress DstMac(byte[] frame) => MacAddress.Read(frame);

    public static MacAddress SrcMac(byte[] frame) => MacAddress.Read(frame.AsSpan(6));

    public static byte Ttl(byte[] frame) => frame[IpOffset + 8];

    public static NetAddress SrcIp(byte[] frame) => NetAddress.FromV4(BinaryPrimitives.ReadUInt32BigEndian(frame.AsSpan(IpOffset + 12)));

    public static NetAddress DstIp(byte[] frame) => NetAddress.FromV4(BinaryPrimitives.ReadUInt32BigEndian(frame.AsSpan(IpOffset + 16)));

    public static ushort SrcPort(byte[] frame) => BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(TcpOffset));

    public static ushort DstPort(byte[] frame) => BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(TcpOffset + 2));
}
