using Offload.Conntrack;
using Offload.Kernel.Netlink;
using Offload.Packets;

namespace Offload.Kernel.Conntrack;

/// <summary>Decodes ctnetlink conntrack messages. Never throws on malformed input: it returns the reason.</summary>
public static class CtnetlinkParser
{
    private const int NfGenMsgSize = 4;

    /// <summary>Decodes the payload of an IPCTNL_MSG_CT_NEW message (nfgenmsg + attributes).</summary>
    public static NetlinkParseError TryParseEntry(ReadOnlySpan<byte> payload, out KernelConntrackEntry entry)
    {
        entry = default;
        if (payload.Length < NfGenMsgSize)
            return NetlinkParseError.MissingFamilyHeader;
        return TryParseEntryAttributes(payload[NfGenMsgSize..], out entry);
    }

    /// <summary>Decodes an entry's attribute list without the nfgenmsg header (as nested in an NFLOG record's NFULA_CT).</summary>
    internal static NetlinkParseError TryParseEntryAttributes(ReadOnlySpan<byte> attributes, out KernelConntrackEntry entry)
    {
        entry = default;
        var reader = new NetlinkAttributeReader(attributes);
        bool haveOrig = false, haveReply = false;
        ConntrackTuple orig = default, reply = default;
        ConntrackStatus status = 0;
        byte? tcpState = null;
        uint timeout = 0, mark = 0, id = 0;
        ushort zone = 0;
        bool counters = false;
        ulong op = 0, ob = 0, rp = 0, rb = 0;
        NetlinkParseError error;
        while (reader.TryRead(out NetlinkAttribute a))
        {
            switch (a.Type)
            {
                case CtnetlinkConstants.TupleOrig:
                    if ((error = TryParseTuple(a.Payload, out orig)) != NetlinkParseError.None)
                        return error;
                    haveOrig = true;
                    break;
                case CtnetlinkConstants.TupleReply:
                    if ((error = TryParseTuple(a.Payload, out reply)) != NetlinkParseError.None)
                        return error;
                    haveReply = true;
                    break;
                case CtnetlinkConstants.Status:
                    if (!a.TryGetUInt32BigEndian(out uint s))
                        return NetlinkParseError.BadPayloadSize;
                    status = (ConntrackStatus)s;
                    break;
                case CtnetlinkConstants.Timeout:
                    if (!a.TryGetUInt32BigEndian(out timeout))
                        return NetlinkParseError.BadPayloadSize;
                    break;
                case CtnetlinkConstants.Mark:
                    if (!a.TryGetUInt32BigEndian(out mark))
                        return NetlinkParseError.BadPayloadSize;
                    break;
                case CtnetlinkConstants.Id:
                    if (!a.TryGetUInt32BigEndian(out id))
                        return NetlinkParseError.BadPayloadSize;
                    break;
                case CtnetlinkConstants.Zone:
                    if (!a.TryGetUInt16BigEndian(out zone))
                        return NetlinkParseError.BadPayloadSize;
                    break;
                case CtnetlinkConstants.ProtoInfo:
                    if ((error = TryParseProtoInfo(a.Payload, ref tcpState)) != NetlinkParseError.None)
                        return error;
                    break;
                case CtnetlinkConstants.CountersOrig:
                    if ((error = TryParseCounters(a.Payload, out op, out ob)) != NetlinkParseError.None)
                        return error;
                    counters = true;
                    break;
                case CtnetlinkConstants.CountersReply:
                    if ((error = TryParseCounters(a.Payload, out rp, out rb)) != NetlinkParseError.None)
                        return error;
                    counters = true;
                    break;
            }
        }
        if (reader.Error != NetlinkParseError.None)
            return reader.Error;
        if (!haveOrig || !haveReply)
            return NetlinkParseError.MissingAttribute;

        ConnState state;
        if (orig.Protocol == IpProtocol.Tcp && tcpState is byte ts)
        {
            if (!KernelTcpStates.TryMap(ts, out state))
                return NetlinkParseError.UnsupportedValue;
        }
        else
        {
            state = KernelTcpStates.FromStatus(orig.Protocol, status);
        }
        entry = new KernelConntrackEntry
        {
            Original = orig, Reply = reply, Status = status, KernelTcpState = tcpState, State = state,
            TimeoutSeconds = timeout, Mark = mark, Zone = zone, Id = id,
            HasCounters = counters, OriginalPackets = op, OriginalBytes = ob, ReplyPackets = rp, ReplyBytes = rb,
        };
        return NetlinkParseError.None;
    }

    /// <summary>Decodes a CTA_TUPLE_* nest.</summary>
    public static NetlinkParseError TryParseTuple(ReadOnlySpan<byte> nest, out ConntrackTuple tuple)
    {
        tuple = default;
        NetAddress src = default, dst = default;
        bool haveIp = false, haveProto = false;
        byte proto = 0;
        ushort sport = 0, dport = 0;
        byte icmpType = 0, icmpCode = 0;
        var reader = new NetlinkAttributeReader(nest);
        while (reader.TryRead(out NetlinkAttribute a))
        {
            if (a.Type == CtnetlinkConstants.TupleIp)
            {
                var ip = a.Nested();
                int seen = 0;
                while (ip.TryRead(out NetlinkAttribute b))
                {
                    switch (b.Type)
                    {
                        case CtnetlinkConstants.IpV4Src or CtnetlinkConstants.IpV4Dst:
                            if (b.Payload.Length != 4)
                                return NetlinkParseError.BadPayloadSize;
                            if (b.Type == CtnetlinkConstants.IpV4Src) src = NetAddress.FromV4Bytes(b.Payload); else dst = NetAddress.FromV4Bytes(b.Payload);
                            seen |= b.Type == CtnetlinkConstants.IpV4Src ? 1 : 2;
                            break;
                        case CtnetlinkConstants.IpV6Src or CtnetlinkConstants.IpV6Dst:
                            if (b.Payload.Length != 16)
                                return NetlinkParseError.BadPayloadSize;
                            if (b.Type == CtnetlinkConstants.IpV6Src) src = NetAddress.FromV6Bytes(b.Payload); else dst = NetAddress.FromV6Bytes(b.Payload);
                            seen |= b.Type == CtnetlinkConstants.IpV6Src ? 1 : 2;
                            break;
                    }
                }
                if (ip.Error != NetlinkParseError.None)
                    return ip.Error;
                if (seen != 3)
                    return NetlinkParseError.MissingAttribute;
                haveIp = true;
            }
            else if (a.Type == CtnetlinkConstants.TupleProto)
            {
                var p = a.Nested();
                bool haveNum = false;
                while (p.TryRead(out NetlinkAttribute b))
                {
                    bool ok = b.Type switch
                    {
                        CtnetlinkConstants.ProtoNum => haveNum = b.TryGetByte(out proto),
                        CtnetlinkConstants.ProtoSrcPort or CtnetlinkConstants.ProtoIcmpId or CtnetlinkConstants.ProtoIcmpV6Id => b.TryGetUInt16BigEndian(out sport),
                        CtnetlinkConstants.ProtoDstPort => b.TryGetUInt16BigEndian(out dport),
                        CtnetlinkConstants.ProtoIcmpType or CtnetlinkConstants.ProtoIcmpV6Type => b.TryGetByte(out icmpType),
                        CtnetlinkConstants.ProtoIcmpCode or CtnetlinkConstants.ProtoIcmpV6Code => b.TryGetByte(out icmpCode),
                        _ => true,
                    };
                    if (!ok)
                        return NetlinkParseError.BadPayloadSize;
                }
                if (p.Error != NetlinkParseError.None)
                    return p.Error;
                if (!haveNum)
                    return NetlinkParseError.MissingAttribute;
                haveProto = true;
            }
        }
        if (reader.Error != NetlinkParseError.None)
            return reader.Error;
        if (!haveIp || !haveProto)
            return NetlinkParseError.MissingAttribute;
        if (src.IsV4 != dst.IsV4)
            return NetlinkParseError.UnsupportedValue;
        if (proto is IpProtocol.Icmp or IpProtocol.IcmpV6)
            dport = (ushort)((icmpType << 8) | icmpCode);
        tuple = new ConntrackTuple(src, dst, proto, sport, dport);
        return NetlinkParseError.None;
    }

    private static NetlinkParseError TryParseProtoInfo(ReadOnlySpan<byte> nest, ref byte? tcpState)
    {
        var reader = new NetlinkAttributeReader(nest);
        while (reader.TryRead(out NetlinkAttribute a))
        {
            if (a.Type != CtnetlinkConstants.ProtoInfoTcp)
                continue;
            var tcp = a.Nested();
            while (tcp.TryRead(out NetlinkAttribute b))
            {
                if (b.Type != CtnetlinkConstants.ProtoInfoTcpState)
                    continue;
                if (!b.TryGetByte(out byte s))
                    return NetlinkParseError.BadPayloadSize;
                tcpState = s;
            }
            if (tcp.Error != NetlinkParseError.None)
                return tcp.Error;
        }
        return reader.Error;
    }

    private static NetlinkParseError TryParseCounters(ReadOnlySpan<byte> nest, out ulong packets, out ulong bytes)
    {
        packets = bytes = 0;
        var reader = new NetlinkAttributeReader(nest);
        while (reader.TryRead(out NetlinkAttribute a))
        {
            bool ok = a.Type switch
            {
                CtnetlinkConstants.CountersPackets => a.TryGetUInt64BigEndian(out packets),
                CtnetlinkConstants.CountersBytes => a.TryGetUInt64BigEndian(out bytes),
                _ => true,
            };
            if (!ok)
                return NetlinkParseError.BadPayloadSize;
        }
        return reader.Error;
    }
}
