using Offload.Actions;
using Offload.Datapath;
using Offload.Packets;

namespace Offload.Cli.Output;

/// <summary>The inner headers of a frame as it was sent (what <c>out</c> shows).</summary>
internal readonly record struct SentHeaders(MacAddress? SrcMac, MacAddress? DstMac, NetAddress SrcIp, ushort? SrcPort, NetAddress DstIp, ushort? DstPort, byte Protocol = 0);

/// <summary>The outer headers of an encapsulated frame as sent.</summary>
internal sealed record SentEncap(string Type, uint Vni, NetAddress OuterSrc, NetAddress OuterDst, MacAddress OuterDstMac);

/// <summary>What a frame that left the switch looked like: inner headers, tunnel, and, for an ARP/ND answer, its kind.</summary>
internal sealed record SentFrame(SentHeaders? Headers, SentEncap? Encap, string? Response)
{
    public static readonly SentFrame None = new(null, null, null);

    /// <summary>
    /// Reads the frame the switch sent for <paramref name="result"/>. A frame out of the uplink whose outer source is
    /// this host's underlay address is one the switch encapsulated; its inner frame is described.
    /// </summary>
    public static SentFrame Of(in FrameResult result, ReadOnlySpan<byte> frame, NetAddress hostUnderlay)
    {
        if (result.Verdict != ActionVerdict.Output)
            return None;
        PacketParser.Parse(frame, out var p);
        if (result.IsResponse)
        {
            if (p.L3 == L3Kind.Arp)
                return new SentFrame(new SentHeaders(p.SrcMac, p.DstMac, p.ArpSenderIp, null, p.ArpTargetIp, null), null, "arp-reply");
            return new SentFrame(Read(p), null, "neighbor-advertisement");
        }
        if (!p.IsValid || p.Tunnel == TunnelKind.None || p.SrcIp != hostUnderlay)
            return new SentFrame(Read(p), null, null);

        var encap = new SentEncap(p.Tunnel == TunnelKind.Vxlan ? "vxlan" : "gre", p.Vni, p.SrcIp, p.DstIp, p.DstMac);
        var inner = frame.Slice(p.InnerOffset);
        if (p.InnerEtherType == EtherType.TransparentEthernetBridging)
        {
            PacketParser.Parse(inner, out var i);
            return new SentFrame(Read(i), encap, null);
        }
        PacketParser.ParseL3(inner, p.InnerEtherType, out var l3);
        var h = Read(l3);
        return new SentFrame(h with { SrcMac = null, DstMac = null }, encap, null);
    }

    private static SentHeaders Read(in ParsedPacket p)
    {
        bool ports = p.IsIp && p.HasPorts;
        return new SentHeaders(p.SrcMac, p.DstMac, p.SrcIp, ports ? p.SrcPort : null, p.DstIp, ports ? p.DstPort : null, p.IsIp ? p.Protocol : (byte)0);
    }
}
