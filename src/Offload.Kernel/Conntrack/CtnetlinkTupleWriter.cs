using Offload.Kernel.Netlink;
using Offload.Packets;

namespace Offload.Kernel.Conntrack;

/// <summary>Encodes a <see cref="ConntrackTuple"/> as a CTA_TUPLE_* nest.</summary>
public static class CtnetlinkTupleWriter
{
    /// <summary>Appends the tuple as nested attribute <paramref name="attributeType"/> (CTA_TUPLE_ORIG or CTA_TUPLE_REPLY).</summary>
    public static void Write(NetlinkMessageBuilder builder, ushort attributeType, in ConntrackTuple tuple)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.BeginNested(attributeType);
        builder.BeginNested(CtnetlinkConstants.TupleIp);
        if (tuple.IsV4)
        {
            builder.AddUInt32BigEndian(CtnetlinkConstants.IpV4Src, tuple.Source.V4);
            builder.AddUInt32BigEndian(CtnetlinkConstants.IpV4Dst, tuple.Destination.V4);
        }
        else
        {
            Span<byte> a = stackalloc byte[16];
            tuple.Source.WriteTo(a);
            builder.AddAttribute(CtnetlinkConstants.IpV6Src, a);
            tuple.Destination.WriteTo(a);
            builder.AddAttribute(CtnetlinkConstants.IpV6Dst, a);
        }
        builder.EndNested();
        builder.BeginNested(CtnetlinkConstants.TupleProto);
        builder.AddByte(CtnetlinkConstants.ProtoNum, tuple.Protocol);
        if (tuple.Protocol == IpProtocol.Icmp)
        {
            builder.AddUInt16BigEndian(CtnetlinkConstants.ProtoIcmpId, tuple.SourcePort);
            builder.AddByte(CtnetlinkConstants.ProtoIcmpType, tuple.IcmpType);
            builder.AddByte(CtnetlinkConstants.ProtoIcmpCode, tuple.IcmpCode);
        }
        else if (tuple.Protocol == IpProtocol.IcmpV6)
        {
            builder.AddUInt16BigEndian(CtnetlinkConstants.ProtoIcmpV6Id, tuple.SourcePort);
            builder.AddByte(CtnetlinkConstants.ProtoIcmpV6Type, tuple.IcmpType);
            builder.AddByte(CtnetlinkConstants.ProtoIcmpV6Code, tuple.IcmpCode);
        }
        else
        {
            builder.AddUInt16BigEndian(CtnetlinkConstants.ProtoSrcPort, tuple.SourcePort);
            builder.AddUInt16BigEndian(CtnetlinkConstants.ProtoDstPort, tuple.DestinationPort);
        }
        builder.EndNested();
        builder.EndNested();
    }
}
