using System.Buffers.Binary;
using Offload.Actions;
using Offload.Packets;

namespace Offload.Switching;

/// <summary>
/// Answers a VM's address resolution on the switch itself (claim A1: nothing is flooded): recognises ARP
/// requests and IPv6 Neighbour Solicitations, and builds the ARP reply or Neighbour Advertisement that
/// carries the MAC the policy gives for the asked address (a peer's MAC, or the gateway MAC).
/// </summary>
/// <remarks>
/// Which MAC to answer with, and whether to answer at all, is the caller's decision. In particular the caller
/// must not answer for the requester's own address: an ARP probe (RFC 5227) or a DAD solicitation
/// (RFC 4862) for it would then report a duplicate. The recognisers never throw, whatever the frame and
/// whatever the <see cref="ParsedPacket"/> claims about it. The <c>Write…</c> methods fill a caller's buffer
/// (no allocation); the <c>Build…</c> methods allocate the reply.
/// </remarks>
public static class NeighborResponder
{
    /// <summary>Smallest Ethernet frame without its FCS; shorter replies are zero-padded to it.</summary>
    public const int MinimumFrameLength = 60;

    private const int EthernetHeaderLength = 14;
    private const int ArpLength = 28;
    private const ushort ArpRequest = 1;
    private const ushort ArpReply = 2;
    private const int Ipv6HeaderLength = 40;

    private const byte NeighborSolicitationType = 135;
    private const byte NeighborAdvertisementType = 136;
    // RFC 4861 §4.3/4.4: 4-byte ICMPv6 header, 4 reserved/flag bytes, 16-byte target.
    private const int NdBodyLength = 24;
    private const int TargetOffset = 8;
    private const byte SourceLinkLayerOption = 1;
    private const byte TargetLinkLayerOption = 2;
    private const int LinkLayerOptionLength = 8;
    private const int AdvertisementLength = NdBodyLength + LinkLayerOptionLength;
    private const byte NdHopLimit = 255;

    private const byte RouterFlag = 0x80;
    private const byte SolicitedFlag = 0x40;
    private const byte OverrideFlag = 0x20;

    // ff02::1, and ff02::1:ff00:0/104 (solicited-node multicast, RFC 4291 §2.7.1).
    private static readonly NetAddress AllNodes = new(0xFF02_0000_0000_0000UL, 1UL);
    private const ulong SolicitedNodeHi = 0xFF02_0000_0000_0000UL;
    private const ulong SolicitedNodeLoPrefix = 0x0000_0001_FF00_0000UL;
    private const ulong SolicitedNodeLoMask = 0xFFFF_FFFF_FF00_0000UL;
    private static readonly MacAddress AllNodesMac = new(0x3333_0000_0001UL);

    /// <summary>
    /// True for a well-formed Ethernet/IPv4 ARP request (operation 1) from a unicast sender hardware
    /// address. A gratuitous ARP (sender IP = target IP) is an announcement, not a question, and is not a request.
    /// </summary>
    /// <param name="p">The frame as parsed by <see cref="PacketParser.Parse"/>.</param>
    public static bool IsArpRequest(in ParsedPacket p) =>
        p.IsValid && p.L3 == L3Kind.Arp && p.EtherType == EtherType.Arp && p.ArpOperation == ArpRequest
        && !p.ArpSenderMac.IsMulticast && p.ArpSenderIp != p.ArpTargetIp
        && p.L3Offset >= EthernetHeaderLength && p.L3End == p.L3Offset + ArpLength && p.L3End <= p.FrameLength;

    /// <summary>
    /// Recognises an ICMPv6 Neighbour Solicitation that RFC 4861 §7.1.1 lets a node answer and reads the
    /// address it asks about.
    /// </summary>
    /// <remarks>
    /// Accepted only when: the frame is Ethernet and parsed, not a fragment, ICMPv6 type 135 code 0, hop limit
    /// 255, at least 24 bytes of message, a valid ICMPv6 checksum, every option of non-zero length, a target
    /// that is a unicast IPv6 address, and, for a duplicate-address-detection probe (source ::), a
    /// solicited-node multicast destination and no source link-layer address option.
    /// </remarks>
    /// <param name="frame">The Ethernet frame.</param>
    /// <param name="p">The frame as parsed by <see cref="PacketParser.Parse"/>.</param>
    /// <param name="target">The solicited address; <see cref="NetAddress.None"/> when false is returned.</param>
    public static bool TryGetSolicitedTarget(ReadOnlySpan<byte> frame, in ParsedPacket p, out NetAddress target)
    {
        target = NetAddress.None;
        if (!p.IsValid || p.L3 != L3Kind.IPv6 || p.EtherType != EtherType.IPv6 || p.Protocol != IpProtocol.IcmpV6
            || p.IsFragment || p.IcmpType != NeighborSolicitationType || p.IcmpCode != 0 || p.Ttl != NdHopLimit)
            return false;
        // The offsets come from the caller's ParsedPacket: check them against this frame before slicing.
        if (p.FrameLength != frame.Length || p.L3Offset < EthernetHeaderLength || p.L4Offset < p.L3Offset + Ipv6HeaderLength
            || p.L3End > frame.Length || p.L3End - p.L4Offset < NdBodyLength)
            return false;
        // An IPv4-mapped address never appears on an IPv6 wire (RFC 4291 §2.5.5.2), and NetAddress would take it for IPv4.
        if (p.SrcIp.IsV4 || p.DstIp.IsV4)
            return false;

        ReadOnlySpan<byte> icmp = frame.Slice(p.L4Offset, p.L3End - p.L4Offset);
        if (icmp[0] != NeighborSolicitationType || icmp[1] != 0)
            return false;
        if (!Checksum.Verify(icmp, Checksum.PseudoHeaderSum(p.SrcIp, p.DstIp, IpProtocol.IcmpV6, icmp.Length)))
            return false;

        var asked = NetAddress.FromV6Bytes(icmp.Slice(TargetOffset, 16));
        if (asked.IsNone || asked.IsV4 || (asked.Hi >> 56) == 0xFF)
            return false;

        bool dad = p.SrcIp.IsNone;
        if (dad && !(p.DstIp.Hi == SolicitedNodeHi && (p.DstIp.Lo & SolicitedNodeLoMask) == SolicitedNodeLoPrefix))
            return false;
        if (!OptionsAreValid(icmp.Slice(NdBodyLength), forbidSourceLinkLayer: dad))
            return false;

        target = asked;
        return true;
    }

    /// <summary>Length of the ARP reply <see cref="WriteArpReply"/> writes for <paramref name="request"/>.</summary>
    /// <param name="request">A request <see cref="IsArpRequest"/> accepted.</param>
    public static int ArpReplyLength(in ParsedPacket request) => Math.Max(MinimumFrameLength, request.L3Offset + ArpLength);

    /// <summary>Builds the ARP reply to <paramref name="requestFrame"/> (see <see cref="WriteArpReply"/>).</summary>
    /// <param name="requestFrame">The request frame.</param>
    /// <param name="request">Its parse, which <see cref="IsArpRequest"/> must accept.</param>
    /// <param name="answerMac">The MAC the policy gives for the requested address.</param>
    /// <exception cref="ArgumentException"><paramref name="request"/> is not an ARP request of this frame.</exception>
    public static byte[] BuildArpReply(ReadOnlySpan<byte> requestFrame, in ParsedPacket request, MacAddress answerMac)
    {
        ValidateArpRequest(requestFrame, request);
        var reply = new byte[ArpReplyLength(request)];
        WriteArp(requestFrame, request, answerMac, reply);
        return reply;
    }

    /// <summary>
    /// Writes the ARP reply (operation 2) to a request: Ethernet to the requester from
    /// <paramref name="answerMac"/>, keeping the request's VLAN tags; ARP sender = (<paramref name="answerMac"/>,
    /// the requested IP), ARP target = (requester MAC, requester IP); zero-padded to 60 bytes.
    /// </summary>
    /// <remarks>Like the kernel's ARP, the requester MAC is the ARP sender hardware address.</remarks>
    /// <param name="requestFrame">The request frame.</param>
    /// <param name="request">Its parse, which <see cref="IsArpRequest"/> must accept.</param>
    /// <param name="answerMac">The MAC the policy gives for the requested address.</param>
    /// <param name="destination">Receives the reply; at least <see cref="ArpReplyLength"/> bytes.</param>
    /// <returns>The reply's length.</returns>
    /// <exception cref="ArgumentException"><paramref name="request"/> is not an ARP request of this frame, or
    /// <paramref name="destination"/> is too short.</exception>
    public static int WriteArpReply(ReadOnlySpan<byte> requestFrame, in ParsedPacket request, MacAddress answerMac, Span<byte> destination)
    {
        ValidateArpRequest(requestFrame, request);
        return WriteArp(requestFrame, request, answerMac, destination);
    }

    private static int WriteArp(ReadOnlySpan<byte> requestFrame, in ParsedPacket request, MacAddress answerMac, Span<byte> destination)
    {
        int length = ArpReplyLength(request);
        if (destination.Length < length)
            throw new ArgumentException($"The ARP reply needs {length} bytes; the destination has {destination.Length}.", nameof(destination));
        Span<byte> reply = destination.Slice(0, length);

        int l3 = request.L3Offset;
        WriteEthernetHeader(requestFrame, l3, reply, request.ArpSenderMac, answerMac);
        Span<byte> arp = reply.Slice(l3, ArpLength);
        // Hardware type, protocol type and address lengths are the request's, which the parser checked.
        requestFrame.Slice(l3, 6).CopyTo(arp);
        BinaryPrimitives.WriteUInt16BigEndian(arp.Slice(6), ArpReply);
        answerMac.WriteTo(arp.Slice(8));
        request.ArpTargetIp.WriteTo(arp.Slice(14));
        request.ArpSenderMac.WriteTo(arp.Slice(18));
        request.ArpSenderIp.WriteTo(arp.Slice(24));
        reply.Slice(l3 + ArpLength).Clear();
        return length;
    }

    /// <summary>Length of the advertisement <see cref="WriteNeighborAdvertisement"/> writes for <paramref name="solicitation"/>.</summary>
    /// <param name="solicitation">A solicitation <see cref="TryGetSolicitedTarget"/> accepted.</param>
    public static int NeighborAdvertisementLength(in ParsedPacket solicitation) =>
        Math.Max(MinimumFrameLength, solicitation.L3Offset + Ipv6HeaderLength + AdvertisementLength);

    /// <summary>Builds the Neighbour Advertisement answering a solicitation (see <see cref="WriteNeighborAdvertisement"/>).</summary>
    /// <param name="solicitationFrame">The solicitation frame.</param>
    /// <param name="solicitation">Its parse, which <see cref="TryGetSolicitedTarget"/> must accept.</param>
    /// <param name="target">The target <see cref="TryGetSolicitedTarget"/> returned.</param>
    /// <param name="answerMac">The MAC the policy gives for <paramref name="target"/>.</param>
    /// <param name="isRouter">True when answering for the gateway (sets the Router flag).</param>
    /// <exception cref="ArgumentException">The frame is not a solicitation for <paramref name="target"/>.</exception>
    public static byte[] BuildNeighborAdvertisement(ReadOnlySpan<byte> solicitationFrame, in ParsedPacket solicitation,
        NetAddress target, MacAddress answerMac, bool isRouter)
    {
        ValidateSolicitation(solicitationFrame, solicitation, target);
        var reply = new byte[NeighborAdvertisementLength(solicitation)];
        WriteAdvertisement(solicitationFrame, solicitation, target, answerMac, isRouter, reply);
        return reply;
    }

    /// <summary>
    /// Writes the ICMPv6 Neighbour Advertisement (type 136) answering a solicitation: flags Override,
    /// Solicited (clear for a DAD probe, whose answer goes to all nodes) and Router when <paramref name="isRouter"/>;
    /// the target and a Target Link-Layer Address option with <paramref name="answerMac"/>. IPv6 from the
    /// target to the solicitation's source (ff02::1 when that was ::), hop limit 255, checksum filled in.
    /// Ethernet from <paramref name="answerMac"/> to the solicitation's Ethernet source (33:33:00:00:00:01 for
    /// all nodes), keeping its VLAN tags.
    /// </summary>
    /// <param name="solicitationFrame">The solicitation frame.</param>
    /// <param name="solicitation">Its parse, which <see cref="TryGetSolicitedTarget"/> must accept.</param>
    /// <param name="target">The target <see cref="TryGetSolicitedTarget"/> returned.</param>
    /// <param name="answerMac">The MAC the policy gives for <paramref name="target"/>.</param>
    /// <param name="isRouter">True when answering for the gateway (sets the Router flag).</param>
    /// <param name="destination">Receives the advertisement; at least <see cref="NeighborAdvertisementLength"/> bytes.</param>
    /// <returns>The advertisement's length.</returns>
    /// <exception cref="ArgumentException">The frame is not a solicitation for <paramref name="target"/>, or
    /// <paramref name="destination"/> is too short.</exception>
    public static int WriteNeighborAdvertisement(ReadOnlySpan<byte> solicitationFrame, in ParsedPacket solicitation,
        NetAddress target, MacAddress answerMac, bool isRouter, Span<byte> destination)
    {
        ValidateSolicitation(solicitationFrame, solicitation, target);
        return WriteAdvertisement(solicitationFrame, solicitation, target, answerMac, isRouter, destination);
    }

    private static int WriteAdvertisement(ReadOnlySpan<byte> frame, in ParsedPacket solicitation, NetAddress target,
        MacAddress answerMac, bool isRouter, Span<byte> destination)
    {
        int length = NeighborAdvertisementLength(solicitation);
        if (destination.Length < length)
            throw new ArgumentException($"The advertisement needs {length} bytes; the destination has {destination.Length}.", nameof(destination));
        Span<byte> reply = destination.Slice(0, length);

        // RFC 4861 §7.2.4: a DAD probe has no address to answer to, so all nodes hear it, unsolicited.
        bool dad = solicitation.SrcIp.IsNone;
        NetAddress to = dad ? AllNodes : solicitation.SrcIp;
        int l3 = solicitation.L3Offset;
        WriteEthernetHeader(frame, l3, reply, dad ? AllNodesMac : solicitation.SrcMac, answerMac);

        Span<byte> ip = reply.Slice(l3, Ipv6HeaderLength);
        BinaryPrimitives.WriteUInt32BigEndian(ip, 0x6000_0000u); // version 6, traffic class 0, flow label 0
        BinaryPrimitives.WriteUInt16BigEndian(ip.Slice(4), AdvertisementLength);
        ip[6] = IpProtocol.IcmpV6;
        ip[7] = NdHopLimit;
        target.WriteTo(ip.Slice(8));
        to.WriteTo(ip.Slice(24));

        Span<byte> icmp = reply.Slice(l3 + Ipv6HeaderLength, AdvertisementLength);
        icmp[0] = NeighborAdvertisementType;
        icmp[1] = 0;
        icmp[2] = 0;
        icmp[3] = 0;
        icmp[4] = (byte)((isRouter ? RouterFlag : 0) | (dad ? 0 : SolicitedFlag) | OverrideFlag);
        icmp[5] = 0;
        icmp[6] = 0;
        icmp[7] = 0;
        target.WriteTo(icmp.Slice(TargetOffset));
        icmp[NdBodyLength] = TargetLinkLayerOption;
        icmp[NdBodyLength + 1] = 1; // in units of 8 bytes
        answerMac.WriteTo(icmp.Slice(NdBodyLength + 2));
        uint sum = Checksum.Sum(icmp, Checksum.PseudoHeaderSum(target, to, IpProtocol.IcmpV6, AdvertisementLength));
        BinaryPrimitives.WriteUInt16BigEndian(icmp.Slice(2), Checksum.Finish(sum));

        reply.Slice(l3 + Ipv6HeaderLength + AdvertisementLength).Clear();
        return length;
    }

    // Destination, source, then the request's VLAN tags and EtherType copied as they were.
    private static void WriteEthernetHeader(ReadOnlySpan<byte> requestFrame, int l3Offset, Span<byte> reply, MacAddress to, MacAddress from)
    {
        to.WriteTo(reply);
        from.WriteTo(reply.Slice(6));
        requestFrame.Slice(12, l3Offset - 12).CopyTo(reply.Slice(12));
    }

    private static bool OptionsAreValid(ReadOnlySpan<byte> options, bool forbidSourceLinkLayer)
    {
        while (options.Length > 0)
        {
            if (options.Length < 2)
                return false;
            int length = options[1] * 8;
            if (length == 0 || length > options.Length)
                return false;
            if (forbidSourceLinkLayer && options[0] == SourceLinkLayerOption)
                return false;
            options = options.Slice(length);
        }
        return true;
    }

    private static void ValidateArpRequest(ReadOnlySpan<byte> frame, in ParsedPacket request)
    {
        if (!IsArpRequest(request) || request.FrameLength != frame.Length)
            throw new ArgumentException("The frame is not an ARP request accepted by NeighborResponder.IsArpRequest.", nameof(request));
    }

    private static void ValidateSolicitation(ReadOnlySpan<byte> frame, in ParsedPacket solicitation, NetAddress target)
    {
        if (!TryGetSolicitedTarget(frame, solicitation, out var asked))
            throw new ArgumentException("The frame is not a Neighbour Solicitation accepted by NeighborResponder.TryGetSolicitedTarget.", nameof(solicitation));
        if (asked != target)
            throw new ArgumentException($"The solicitation asks for {asked}, not {target}.", nameof(target));
    }
}
