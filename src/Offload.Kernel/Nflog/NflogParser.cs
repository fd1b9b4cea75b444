using System.Buffers.Binary;
using System.Text;
using Offload.Kernel.Conntrack;
using Offload.Kernel.Netlink;
using Offload.Packets;

namespace Offload.Kernel.Nflog;

/// <summary>Decodes NFULNL_MSG_PACKET messages. Never throws on malformed input: it returns the reason.</summary>
public static class NflogParser
{
    // Enough for an IPv4 header with options and a TCP header with options, or an IPv6 header with a chain of
    // extension headers; a truncated copy is parsed from at most this much.
    private const int MaxHeaderBytes = 512;

    /// <summary>
    /// Decodes the payload of an NFULNL_MSG_PACKET message (nfgenmsg + attributes). The message is malformed when the
    /// family header or the packet header is missing, an attribute overruns its list or has the wrong size, or the
    /// prefix is not NUL-terminated. A conntrack nest that cannot be decoded only leaves <see cref="NflogRecord.Conntrack"/> null.
    /// </summary>
    public static NetlinkParseError TryParse(ReadOnlySpan<byte> payload, out NflogRecord record)
    {
        record = default;
        if (payload.Length < NflogConstants.NfGenMsgSize)
            return NetlinkParseError.MissingFamilyHeader;
        byte family = payload[0];
        ushort group = BinaryPrimitives.ReadUInt16BigEndian(payload[2..]);
        var reader = new NetlinkAttributeReader(payload[NflogConstants.NfGenMsgSize..]);
        bool haveHeader = false;
        ushort hwProtocol = 0;
        byte hook = 0;
        uint inDev = 0, outDev = 0;
        uint? mark = null, ctInfo = null;
        string prefix = string.Empty;
        ReadOnlySpan<byte> packet = default;
        bool havePacket = false;
        KernelConntrackEntry? ct = null;
        while (reader.TryRead(out NetlinkAttribute a))
        {
            switch (a.Type)
            {
                case NflogConstants.PacketHeader:
                    if (a.Payload.Length != NflogConstants.PacketHeaderSize)
                        return NetlinkParseError.BadPayloadSize;
                    hwProtocol = BinaryPrimitives.ReadUInt16BigEndian(a.Payload);
                    hook = a.Payload[2];
                    haveHeader = true;
                    break;
                case NflogConstants.Mark:
                    if (!a.TryGetUInt32BigEndian(out uint m))
                        return NetlinkParseError.BadPayloadSize;
                    mark = m;
                    break;
                case NflogConstants.InputInterface:
                    if (!a.TryGetUInt32BigEndian(out inDev))
                        return NetlinkParseError.BadPayloadSize;
                    break;
                case NflogConstants.OutputInterface:
                    if (!a.TryGetUInt32BigEndian(out outDev))
                        return NetlinkParseError.BadPayloadSize;
                    break;
                case NflogConstants.Prefix:
                    int nul = a.Payload.IndexOf((byte)0);
                    if (nul < 0)
                        return NetlinkParseError.BadPayloadSize;
                    prefix = Encoding.UTF8.GetString(a.Payload[..nul]);
                    break;
                case NflogConstants.Payload:
                    packet = a.Payload;
                    havePacket = true;
                    break;
                case NflogConstants.Conntrack:
                    if (CtnetlinkParser.TryParseEntryAttributes(a.Payload, out KernelConntrackEntry entry) == NetlinkParseError.None)
                        ct = entry;
                    break;
                case NflogConstants.ConntrackInfo:
                    if (!a.TryGetUInt32BigEndian(out uint info))
                        return NetlinkParseError.BadPayloadSize;
                    ctInfo = info;
                    break;
            }
        }
        if (reader.Error != NetlinkParseError.None)
            return reader.Error;
        if (!haveHeader)
            return NetlinkParseError.MissingAttribute;

        NflogPrefix.TryParse(prefix, out DropReason reason, out string ruleId);
        ConntrackTuple tuple = default;
        DropReason tupleError = DropReason.None;
        bool truncated = false;
        bool haveTuple = havePacket && packet.Length > 0 &&
            TryReadTuple(packet, EtherTypeOf(hwProtocol, family, packet), out tuple, out tupleError, out truncated);
        record = new NflogRecord
        {
            Group = group, Family = family, HardwareProtocol = hwProtocol, Hook = hook,
            InputInterfaceIndex = inDev, OutputInterfaceIndex = outDev, Mark = mark,
            Prefix = prefix, Reason = reason, RuleId = ruleId,
            HasTuple = haveTuple, Tuple = tuple, TupleError = tupleError,
            PayloadLength = packet.Length, PayloadTruncated = truncated,
            Conntrack = ct, ConntrackInfo = ctInfo,
        };
        return NetlinkParseError.None;
    }

    // The hook's family decides for IP; the link-layer protocol is only a fallback (bridge hooks log with family 7).
    private static ushort EtherTypeOf(ushort hwProtocol, byte family, ReadOnlySpan<byte> packet) => family switch
    {
        NflogConstants.FamilyInet => EtherType.IPv4,
        NflogConstants.FamilyInet6 => EtherType.IPv6,
        _ when hwProtocol is EtherType.IPv4 or EtherType.IPv6 => hwProtocol,
        _ => (packet[0] >> 4) == 6 ? EtherType.IPv6 : EtherType.IPv4,
    };

    private static bool TryReadTuple(ReadOnlySpan<byte> packet, ushort etherType, out ConntrackTuple tuple, out DropReason error, out bool truncated)
    {
        tuple = default;
        truncated = DeclaredLength(packet, etherType) > packet.Length;
        ParsedPacket parsed;
        if (!truncated)
        {
            PacketParser.ParseL3(packet, etherType, out parsed);
        }
        else
        {
            // The copy range cut the packet: the headers are whole, but the parser (rightly) rejects an IP length
            // beyond the bytes it has. Parse a copy whose length field says what was copied.
            Span<byte> copy = stackalloc byte[MaxHeaderBytes];
            int n = Math.Min(packet.Length, MaxHeaderBytes);
            packet[..n].CopyTo(copy);
            copy = copy[..n];
            if (etherType == EtherType.IPv4)
                BinaryPrimitives.WriteUInt16BigEndian(copy[2..], (ushort)n);
            else
                BinaryPrimitives.WriteUInt16BigEndian(copy[4..], (ushort)(n - 40));
            PacketParser.ParseL3(copy, etherType, out parsed);
            // A cut L4 header (TCP options, a UDP length beyond the copy) fails the parser after it has found the
            // addresses and where L4 starts; the ports are the first four bytes there.
            if (!parsed.IsValid && parsed.L4Offset > 0 && parsed.L4Offset + 4 <= n &&
                parsed.Protocol is IpProtocol.Tcp or IpProtocol.Udp && parsed.FragmentOffset == 0)
            {
                error = DropReason.None;
                tuple = new ConntrackTuple(parsed.SrcIp, parsed.DstIp, parsed.Protocol,
                    BinaryPrimitives.ReadUInt16BigEndian(copy[parsed.L4Offset..]),
                    BinaryPrimitives.ReadUInt16BigEndian(copy[(parsed.L4Offset + 2)..]));
                return true;
            }
        }
        error = parsed.Error;
        if (!parsed.IsValid || !parsed.IsIp)
        {
            if (error == DropReason.None)
                error = DropReason.UnsupportedEtherType;
            return false;
        }
        tuple = new ConntrackTuple(parsed.SrcIp, parsed.DstIp, parsed.Protocol, parsed.SrcPort, parsed.DstPort);
        return true;
    }

    // The length the IP header claims; 0 when the packet is too short to say (the parser then reports why).
    private static int DeclaredLength(ReadOnlySpan<byte> packet, ushort etherType)
    {
        if (etherType == EtherType.IPv4)
            return packet.Length >= 20 ? BinaryPrimitives.ReadUInt16BigEndian(packet[2..]) : 0;
        return packet.Length >= 40 ? 40 + BinaryPrimitives.ReadUInt16BigEndian(packet[4..]) : 0;
    }
}
