using System.Buffers.Binary;
using Offload.Packets;

namespace Offload.Tests.Packets;

/// <summary>Builds frames byte by byte for parser tests (no checksums: the parser does not verify them).</summary>
internal static class Frames
{
    public static readonly byte[] SrcMac = [0x02, 0, 0, 0, 0, 0x01];
    public static readonly byte[] DstMac = [0x02, 0, 0, 0, 0, 0x02];

    public static byte[] Concat(params byte[][] parts)
    {
        var result = new byte[parts.Sum(p => p.Length)];
        int o = 0;
        foreach (var p in parts)
        {
            p.CopyTo(result, o);
            o += p.Length;
        }
        return result;
    }

    /// <summary>Ethernet II; <paramref name="tags"/> are (TPID, TCI) pairs, outermost first.</summary>
    public static byte[] Ethernet(ushort etherType, byte[] payload, params (ushort Tpid, ushort Tci)[] tags)
    {
        var header = new byte[14 + 4 * tags.Length];
        DstMac.CopyTo(header, 0);
        SrcMac.CopyTo(header, 6);
        int o = 12;
        foreach (var (tpid, tci) in tags)
        {
            BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(o), tpid);
            BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(o + 2), tci);
            o += 4;
        }
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(o), etherType);
        return Concat(header, payload);
    }

    public static byte[] Ipv4(byte protocol, string src, string dst, byte[] payload, byte[]? options = null,
        ushort id = 0x1234, bool moreFragments = false, int fragmentOffset = 0, byte ttl = 64, byte tos = 0)
    {
        options ??= [];
        int headerLength = 20 + options.Length;
        var h = new byte[headerLength];
        h[0] = (byte)(0x40 | (headerLength / 4));
        h[1] = tos;
        BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(2), (ushort)(headerLength + payload.Length));
        BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(4), id);
        BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(6), (ushort)((moreFragments ? 0x2000 : 0) | (fragmentOffset / 8)));
        h[8] = ttl;
        h[9] = protocol;
        NetAddress.Parse(src).WriteTo(h.AsSpan(12));
        NetAddress.Parse(dst).WriteTo(h.AsSpan(16));
        options.CopyTo(h, 20);
        return Concat(h, payload);
    }

    public static byte[] Ipv6(byte nextHeader, string src, string dst, byte[] payload, byte hopLimit = 64, byte trafficClass = 0)
    {
        var h = new byte[40];
        h[0] = (byte)(0x60 | (trafficClass >> 4));
        h[1] = (byte)(trafficClass << 4);
        BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(4), (ushort)payload.Length);
        h[6] = nextHeader;
        h[7] = hopLimit;
        NetAddress.Parse(src).WriteTo(h.AsSpan(8));
        NetAddress.Parse(dst).WriteTo(h.AsSpan(24));
        return Concat(h, payload);
    }

    /// <summary>A generic 8-octet-unit extension header (hop-by-hop, routing, destination options) of 8·(units+1) bytes.</summary>
    public static byte[] Extension(byte nextHeader, int units = 0)
    {
        var h = new byte[8 * (units + 1)];
        h[0] = nextHeader;
        h[1] = (byte)units;
        if (h.Length > 2)
            h[2] = 1; // PadN
        if (h.Length > 3)
            h[3] = (byte)(h.Length - 4);
        return h;
    }

    public static byte[] Ipv6Fragment(byte nextHeader, int offset, bool more, uint id)
    {
        var h = new byte[8];
        h[0] = nextHeader;
        BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(2), (ushort)(offset | (more ? 1 : 0)));
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(4), id);
        return h;
    }

    /// <summary>AH: length in 4-octet units minus 2.</summary>
    public static byte[] Ah(byte nextHeader, int icvBytes = 12)
    {
        var h = new byte[12 + icvBytes];
        h[0] = nextHeader;
        h[1] = (byte)((h.Length / 4) - 2);
        return h;
    }

    public static byte[] Tcp(ushort src, ushort dst, TcpFlags flags = TcpFlags.Syn, uint seq = 1000, uint ack = 0,
        int optionBytes = 0, byte[]? payload = null, ushort window = 65535)
    {
        var h = new byte[20 + optionBytes];
        BinaryPrimitives.WriteUInt16BigEndian(h, src);
        BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(2), dst);
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(4), seq);
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(8), ack);
        h[12] = (byte)((h.Length / 4) << 4);
        h[13] = (byte)flags;
        BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(14), window);
        for (int i = 20; i < h.Length; i++)
            h[i] = 1; // NOP options
        return Concat(h, payload ?? []);
    }

    public static byte[] Udp(ushort src, ushort dst, byte[]? payload = null)
    {
        payload ??= [];
        var h = new byte[8];
        BinaryPrimitives.WriteUInt16BigEndian(h, src);
        BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(2), dst);
        BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(4), (ushort)(8 + payload.Length));
        return Concat(h, payload);
    }

    public static byte[] Icmp(byte type, byte code, ushort id = 0, ushort sequence = 0, byte[]? payload = null)
    {
        var h = new byte[8];
        h[0] = type;
        h[1] = code;
        BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(4), id);
        BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(6), sequence);
        return Concat(h, payload ?? []);
    }

    public static byte[] Vxlan(uint vni, byte[] inner, byte flags = 0x08)
    {
        var h = new byte[8];
        h[0] = flags;
        BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(4), vni << 8);
        return Concat(h, inner);
    }

    public static byte[] Gre(ushort protocolType, byte[] inner, uint? key = null, bool checksum = false, bool sequence = false,
        ushort extraFlags = 0)
    {
        var h = new List<byte>();
        ushort flags = (ushort)((checksum ? 0x8000 : 0) | (key.HasValue ? 0x2000 : 0) | (sequence ? 0x1000 : 0) | extraFlags);
        h.Add((byte)(flags >> 8));
        h.Add((byte)flags);
        h.Add((byte)(protocolType >> 8));
        h.Add((byte)protocolType);
        if (checksum)
            h.AddRange(new byte[4]);
        if (key is uint k)
            h.AddRange([(byte)(k >> 24), (byte)(k >> 16), (byte)(k >> 8), (byte)k]);
        if (sequence)
            h.AddRange([0, 0, 0, 7]);
        return Concat(h.ToArray(), inner);
    }

    public static byte[] Arp(ushort operation, string senderIp, string targetIp)
    {
        var a = new byte[28];
        BinaryPrimitives.WriteUInt16BigEndian(a, 1);
        BinaryPrimitives.WriteUInt16BigEndian(a.AsSpan(2), EtherType.IPv4);
        a[4] = 6;
        a[5] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(a.AsSpan(6), operation);
        SrcMac.CopyTo(a, 8);
        NetAddress.Parse(senderIp).WriteTo(a.AsSpan(14));
        NetAddress.Parse(targetIp).WriteTo(a.AsSpan(24));
        return a;
    }

    /// <summary>Parses a copy in an array exactly as long as the frame, so any over-read throws.</summary>
    public static ParsedPacket Parse(byte[] frame)
    {
        var exact = frame.ToArray();
        PacketParser.Parse(new ReadOnlySpan<byte>(exact, 0, exact.Length), out var p);
        return p;
    }
}
