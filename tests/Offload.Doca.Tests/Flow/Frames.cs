using System.Buffers.Binary;

namespace Offload.Doca.Tests.Flow;

/// <summary>Minimal Ethernet/IPv4/UDP frames for injection (checksums left to the emulator's checks elsewhere).</summary>
internal static class Frames
{
    public static byte[] Udp4(uint src, uint dst, ushort sport, ushort dport, int payload = 8)
    {
        byte[] f = new byte[14 + 20 + 8 + payload];
        f[0] = 0x02; f[5] = 0x0b; f[6] = 0x02; f[11] = 0x0a;
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(12), 0x0800);
        Span<byte> ip = f.AsSpan(14, 20);
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(20 + 8 + payload));
        ip[8] = 64;
        ip[9] = 17;
        BinaryPrimitives.WriteUInt32BigEndian(ip[12..], src);
        BinaryPrimitives.WriteUInt32BigEndian(ip[16..], dst);
        uint sum = 0;
        for (int i = 0; i < 20; i += 2)
            sum += BinaryPrimitives.ReadUInt16BigEndian(ip[i..]);
        while (sum > 0xffff)
            sum = (sum & 0xffff) + (sum >> 16);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], (ushort)~sum);
        Span<byte> udp = f.AsSpan(34);
        BinaryPrimitives.WriteUInt16BigEndian(udp, sport);
        BinaryPrimitives.WriteUInt16BigEndian(udp[2..], dport);
        BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)(8 + payload));
        return f;
    }
}

/// <summary>IPv4 header edits and checks on a frame whose IPv4 header starts at byte 14.</summary>
internal static class Ip4Header
{
    /// <summary>Sets the TTL and writes a freshly computed header checksum.</summary>
    public static byte[] WithTtl(byte[] frame, byte ttl)
    {
        byte[] f = (byte[])frame.Clone();
        f[14 + 8] = ttl;
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(14 + 10), Checksum(f));
        return f;
    }

    /// <summary>The header checksum computed from scratch (the field read as zero).</summary>
    public static ushort Checksum(ReadOnlySpan<byte> frame)
    {
        ReadOnlySpan<byte> ip = frame.Slice(14, (frame[14] & 15) * 4);
        uint sum = 0;
        for (int i = 0; i < ip.Length; i += 2)
            if (i != 10)
                sum += BinaryPrimitives.ReadUInt16BigEndian(ip[i..]);
        while (sum > 0xffff)
            sum = (sum & 0xffff) + (sum >> 16);
        return (ushort)~sum;
    }

    /// <summary>The checksum field as carried.</summary>
    public static ushort CarriedChecksum(ReadOnlySpan<byte> frame) => BinaryPrimitives.ReadUInt16BigEndian(frame[(14 + 10)..]);
}

/// <summary>TCP frames of an exact length for a flow key's 5-tuple.</summary>
internal static class TcpFrames
{
    public static byte[] Tcp4(uint src, uint dst, ushort sport, ushort dport, int totalLength)
    {
        byte[] f = new byte[Math.Max(totalLength, 14 + 20 + 20)];
        f[0] = 0x02; f[5] = 0x0b; f[6] = 0x02; f[11] = 0x0a;
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(12), 0x0800);
        Span<byte> ip = f.AsSpan(14, 20);
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(f.Length - 14));
        ip[8] = 64;
        ip[9] = 6;
        BinaryPrimitives.WriteUInt32BigEndian(ip[12..], src);
        BinaryPrimitives.WriteUInt32BigEndian(ip[16..], dst);
        uint sum = 0;
        for (int i = 0; i < 20; i += 2)
            sum += BinaryPrimitives.ReadUInt16BigEndian(ip[i..]);
        while (sum > 0xffff)
            sum = (sum & 0xffff) + (sum >> 16);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], (ushort)~sum);
        Span<byte> tcp = f.AsSpan(34);
        BinaryPrimitives.WriteUInt16BigEndian(tcp, sport);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[2..], dport);
        tcp[12] = 0x50;
        tcp[13] = 0x10;
        return f;
    }
}
