using System.Buffers.Binary;

namespace Offload.Packets;

public static partial class PacketParser
{
    private const int Ipv4MinHeaderLength = 20;
    private const int Ipv6HeaderLength = 40;
    private const int Ipv6FragmentHeaderLength = 8;

    private static void ParseIpv4(ReadOnlySpan<byte> frame, int offset, ref ParsedPacket p)
    {
        p.L3 = L3Kind.IPv4;
        int available = frame.Length - offset;
        if (available < Ipv4MinHeaderLength)
        {
            p.Error = DropReason.BadIpv4Header;
            return;
        }
        ReadOnlySpan<byte> ip = frame.Slice(offset);
        int headerLength = (ip[0] & 0x0F) << 2;
        if ((ip[0] >> 4) != 4 || headerLength < Ipv4MinHeaderLength || headerLength > available)
        {
            p.Error = DropReason.BadIpv4Header;
            return;
        }
        int totalLength = BinaryPrimitives.ReadUInt16BigEndian(ip.Slice(2));
        if (totalLength < headerLength || totalLength > available)
        {
            p.Error = DropReason.BadIpv4Length;
            return;
        }
        if (headerLength > Ipv4MinHeaderLength && !Ipv4OptionsWellFormed(ip.Slice(Ipv4MinHeaderLength, headerLength - Ipv4MinHeaderLength)))
        {
            p.Error = DropReason.BadIpv4Options;
            return;
        }

        p.TrafficClass = ip[1];
        p.IpId = BinaryPrimitives.ReadUInt16BigEndian(ip.Slice(4));
        ushort flagsAndOffset = BinaryPrimitives.ReadUInt16BigEndian(ip.Slice(6));
        p.MoreFragments = (flagsAndOffset & 0x2000) != 0;
        p.FragmentOffset = (flagsAndOffset & 0x1FFF) << 3;
        p.IsFragment = p.MoreFragments || p.FragmentOffset != 0;
        p.Ttl = ip[8];
        p.Protocol = ip[9];
        p.SrcIp = NetAddress.FromV4Bytes(ip.Slice(12));
        p.DstIp = NetAddress.FromV4Bytes(ip.Slice(16));
        p.L3End = offset + totalLength;
        p.L4Offset = offset + headerLength;

        ParseTransport(frame, ref p);
    }

    /// <summary>Walks the option list: EOL ends it, NOP is one byte, every other option carries a length ≥ 2
    /// that must stay inside the header.</summary>
    private static bool Ipv4OptionsWellFormed(ReadOnlySpan<byte> options)
    {
        int i = 0;
        while (i < options.Length)
        {
            byte type = options[i];
            if (type == 0)
                return true;
            if (type == 1)
            {
                i++;
                continue;
            }
            if (i + 1 >= options.Length)
                return false;
            int length = options[i + 1];
            if (length < 2 || length > options.Length - i)
                return false;
            i += length;
        }
        return true;
    }

    private static void ParseIpv6(ReadOnlySpan<byte> frame, int offset, ref ParsedPacket p)
    {
        p.L3 = L3Kind.IPv6;
        int available = frame.Length - offset;
        if (available < Ipv6HeaderLength)
        {
            p.Error = DropReason.BadIpv6Header;
            return;
        }
        ReadOnlySpan<byte> ip = frame.Slice(offset, Ipv6HeaderLength);
        int payloadLength = BinaryPrimitives.ReadUInt16BigEndian(ip.Slice(4));
        if ((ip[0] >> 4) != 6 || payloadLength > available - Ipv6HeaderLength)
        {
            p.Error = DropReason.BadIpv6Header;
            return;
        }
        p.TrafficClass = (byte)((ip[0] << 4) | (ip[1] >> 4));
        p.Ttl = ip[7];
        p.SrcIp = NetAddress.FromV6Bytes(ip.Slice(8));
        p.DstIp = NetAddress.FromV6Bytes(ip.Slice(24));
        p.L3End = offset + Ipv6HeaderLength + payloadLength;

        var error = WalkIpv6Extensions(frame.Slice(0, p.L3End), offset + Ipv6HeaderLength, ip[6], out Ipv6Chain chain);
        if (error != DropReason.None)
        {
            p.Error = error;
            return;
        }
        p.Protocol = chain.Protocol;
        p.L4Offset = chain.L4Offset;
        p.IsFragment = chain.IsFragment;
        p.MoreFragments = chain.MoreFragments;
        p.FragmentOffset = chain.FragmentOffset;
        p.IpId = chain.FragmentId;
        ParseTransport(frame, ref p);
    }

    /// <summary>
    /// Follows the extension-header chain that starts at <paramref name="offset"/> with
    /// <paramref name="nextHeader"/>, stopping at the first header that is not an extension (the L4 protocol,
    /// ESP or No Next Header, or the data of a non-first fragment). Returns the final protocol, where it starts
    /// and the fragment header's fields. <paramref name="packet"/> ends where the IPv6 payload ends.
    /// </summary>
    private static DropReason WalkIpv6Extensions(ReadOnlySpan<byte> packet, int offset, byte nextHeader, out Ipv6Chain chain)
    {
        chain = default;
        int followed = 0;
        while (true)
        {
            int length;
            switch (nextHeader)
            {
                case IpProtocol.HopByHop:
                case IpProtocol.Routing:
                case IpProtocol.DestinationOptions:
                case IpProtocol.Mobility:
                    if (packet.Length - offset < 2)
                        return DropReason.BadIpv6ExtensionHeader;
                    length = (packet[offset + 1] + 1) << 3;
                    break;
                case IpProtocol.Ah:
                    if (packet.Length - offset < 2)
                        return DropReason.BadIpv6ExtensionHeader;
                    length = (packet[offset + 1] + 2) << 2;
                    break;
                case IpProtocol.Fragment:
                    if (packet.Length - offset < Ipv6FragmentHeaderLength)
                        return DropReason.BadIpv6ExtensionHeader;
                    length = Ipv6FragmentHeaderLength;
                    ReadOnlySpan<byte> frag = packet.Slice(offset, Ipv6FragmentHeaderLength);
                    ushort offsetAndFlags = BinaryPrimitives.ReadUInt16BigEndian(frag.Slice(2));
                    chain.FragmentOffset = offsetAndFlags & 0xFFF8;
                    chain.MoreFragments = (offsetAndFlags & 1) != 0;
                    chain.IsFragment = true;
                    chain.FragmentId = BinaryPrimitives.ReadUInt32BigEndian(frag.Slice(4));
                    break;
                default:
                    chain.Protocol = nextHeader;
                    chain.L4Offset = offset;
                    return DropReason.None;
            }
            if (++followed > MaxIpv6ExtensionHeaders)
                return DropReason.Ipv6ExtensionChainTooLong;
            if (length > packet.Length - offset)
                return DropReason.BadIpv6ExtensionHeader;
            nextHeader = packet[offset];
            offset += length;
            // Behind a non-first fragment's header lies data, not headers: the chain stops there.
            if (chain.FragmentOffset != 0)
            {
                chain.Protocol = nextHeader;
                chain.L4Offset = offset;
                return DropReason.None;
            }
        }
    }

    /// <summary>What the end of an IPv6 extension-header chain told.</summary>
    private struct Ipv6Chain
    {
        public byte Protocol;
        public int L4Offset;
        public bool IsFragment;
        public bool MoreFragments;
        public int FragmentOffset;
        public uint FragmentId;
    }
}
