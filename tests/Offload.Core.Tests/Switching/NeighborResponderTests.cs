using System.Buffers.Binary;
using System.Net;
using System.Net.NetworkInformation;
using CsCheck;
using Offload.Actions;
using Offload.Capture;
using Offload.Packets;
using Offload.Switching;
using Offload.Tests.Capture;
using Offload.Tests.TestSupport;
using PacketDotNet;
using PacketDotNet.Ndp;
using ArpOperation = PacketDotNet.ArpOperation;

namespace Offload.Tests.Switching;

/// <summary>
/// The switch's ARP/ND answers (A1), checked three ways: PacketDotNet decodes them, our own parser reads them
/// back, and tshark validates them from a pcap. Requests are built byte by byte (checksums from the naive
/// reference sum in <see cref="FrameBuilder"/>), so the code under test is never its own oracle.
/// </summary>
public class NeighborResponderTests
{
    private static readonly MacAddress VmMac = MacAddress.Parse("02:00:00:01:00:01");
    private static readonly MacAddress PeerMac = MacAddress.Parse("02:00:00:01:00:03");
    private static readonly MacAddress GatewayMac = MacAddress.Parse("02:00:00:00:ff:fe");
    private const string VmIp = "10.1.0.1";
    private const string PeerIp = "10.1.0.2";
    private const string Vm6 = "fd00:1::1";
    private const string Peer6 = "fd00:1::2";
    private const string Gateway6 = "fe80::1";

    // ---- frame builders ----

    private static byte[] Ethernet(MacAddress dst, MacAddress src, ushort etherType, ReadOnlySpan<byte> payload, params (ushort Tpid, ushort Tci)[] tags)
    {
        var f = new byte[14 + 4 * tags.Length + payload.Length];
        dst.WriteTo(f);
        src.WriteTo(f.AsSpan(6));
        int o = 12;
        foreach (var (tpid, tci) in tags)
        {
            BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(o), tpid);
            BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(o + 2), tci);
            o += 4;
        }
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(o), etherType);
        payload.CopyTo(f.AsSpan(o + 2));
        return f;
    }

    private static byte[] ArpFrame(ushort operation, MacAddress senderMac, string senderIp, string targetIp,
        params (ushort Tpid, ushort Tci)[] tags)
    {
        var arp = new byte[28];
        BinaryPrimitives.WriteUInt16BigEndian(arp, 1);
        BinaryPrimitives.WriteUInt16BigEndian(arp.AsSpan(2), 0x0800);
        arp[4] = 6;
        arp[5] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(arp.AsSpan(6), operation);
        senderMac.WriteTo(arp.AsSpan(8));
        NetAddress.Parse(senderIp).WriteTo(arp.AsSpan(14));
        NetAddress.Parse(targetIp).WriteTo(arp.AsSpan(24));
        // Linux pads a request to the Ethernet minimum; keep that so the padding path is exercised too.
        var padded = new byte[28 + 18];
        arp.CopyTo(padded, 0);
        return Ethernet(operation == 1 ? MacAddress.Broadcast : PeerMac, senderMac, EtherType.Arp, padded, tags);
    }

    private static NetAddress SolicitedNode(NetAddress target) =>
        new(0xFF02_0000_0000_0000UL, 0x0000_0001_FF00_0000UL | (target.Lo & 0xFF_FFFFUL));

    private static MacAddress MulticastMac(NetAddress group) => new(0x3333_0000_0000UL | (uint)group.Lo);

    /// <summary>A Neighbour Solicitation; by default from <see cref="Vm6"/> to the solicited-node group of the target.</summary>
    private static byte[] NsFrame(string target, string source = Vm6, string? destination = null, byte hopLimit = 255,
        byte code = 0, bool sourceLinkLayer = true, int? icmpLength = null, bool breakChecksum = false,
        byte[]? extraOption = null, (ushort Tpid, ushort Tci)[]? tags = null)
    {
        var t = NetAddress.Parse(target);
        var src = NetAddress.Parse(source);
        var dst = destination is null ? SolicitedNode(t) : NetAddress.Parse(destination);
        var icmp = new List<byte> { 135, code, 0, 0, 0, 0, 0, 0 };
        var tb = new byte[16];
        t.WriteTo(tb);
        icmp.AddRange(tb);
        if (sourceLinkLayer)
        {
            var mac = new byte[6];
            VmMac.WriteTo(mac);
            icmp.AddRange([1, 1]);
            icmp.AddRange(mac);
        }
        if (extraOption is not null)
            icmp.AddRange(extraOption);
        var segment = icmp.ToArray();
        if (icmpLength is int n)
            segment = segment.AsSpan(0, n).ToArray();
        ushort checksum = FrameBuilder.L4Checksum(src, dst, IpProtocol.IcmpV6, segment);
        if (breakChecksum)
            checksum ^= 0x0101;
        BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(2), checksum);
        var ip = FrameBuilder.Ip(src, dst, IpProtocol.IcmpV6, segment, hopLimit);
        return Ethernet(dst.Hi >> 56 == 0xFF ? MulticastMac(dst) : PeerMac, VmMac, EtherType.IPv6, ip, tags ?? []);
    }

    private static ParsedPacket Parse(byte[] frame)
    {
        PacketParser.Parse(frame, out var p);
        p.IsValid.Should().BeTrue($"the test frame parses ({p.Error})");
        return p;
    }

    private static byte[] ArpReply(byte[] request, MacAddress answer)
    {
        var p = Parse(request);
        NeighborResponder.IsArpRequest(p).Should().BeTrue();
        return NeighborResponder.BuildArpReply(request, p, answer);
    }

    private static byte[] Advertisement(byte[] solicitation, MacAddress answer, bool isRouter = false)
    {
        var p = Parse(solicitation);
        NeighborResponder.TryGetSolicitedTarget(solicitation, p, out var target).Should().BeTrue();
        return NeighborResponder.BuildNeighborAdvertisement(solicitation, p, target, answer, isRouter);
    }

    private static PhysicalAddress Phys(MacAddress m) => PhysicalAddress.Parse(m.ToString().Replace(':', '-'));

    // ---- ARP ----

    [Fact]
    public void IsArpRequest_Request_True()
    {
        var p = Parse(ArpFrame(1, VmMac, VmIp, PeerIp));
        NeighborResponder.IsArpRequest(p).Should().BeTrue();
    }

    [Fact]
    public void IsArpRequest_ArpReply_False()
    {
        var p = Parse(ArpFrame(2, VmMac, VmIp, PeerIp));
        NeighborResponder.IsArpRequest(p).Should().BeFalse();
    }

    [Fact]
    public void IsArpRequest_GratuitousArp_False()
    {
        var p = Parse(ArpFrame(1, VmMac, VmIp, VmIp));
        NeighborResponder.IsArpRequest(p).Should().BeFalse("an announcement of one's own address asks nothing");
    }

    [Fact]
    public void IsArpRequest_ArpProbeFromZeroAddress_True()
    {
        var p = Parse(ArpFrame(1, VmMac, "0.0.0.0", PeerIp));
        NeighborResponder.IsArpRequest(p).Should().BeTrue("an RFC 5227 probe for someone else's address must learn it is taken");
    }

    [Fact]
    public void IsArpRequest_MulticastSenderMac_False()
    {
        var p = Parse(ArpFrame(1, MacAddress.Broadcast, VmIp, PeerIp));
        NeighborResponder.IsArpRequest(p).Should().BeFalse();
    }

    [Fact]
    public void IsArpRequest_Ipv4Frame_False()
    {
        var p = Parse(FrameBuilder.UdpFrame(VmIp, 1000, PeerIp, 53));
        NeighborResponder.IsArpRequest(p).Should().BeFalse();
    }

    [Fact]
    public void BuildArpReply_Request_PacketDotNetDecodesReply()
    {
        var reply = ArpReply(ArpFrame(1, VmMac, VmIp, PeerIp), PeerMac);

        reply.Should().HaveCount(60, "a reply is padded to the Ethernet minimum");
        reply.AsSpan(42).ToArray().Should().OnlyContain(b => b == 0, "the padding is zeroed");
        var packet = Packet.ParsePacket(LinkLayers.Ethernet, reply);
        var eth = (EthernetPacket)packet;
        eth.DestinationHardwareAddress.Should().Be(Phys(VmMac));
        eth.SourceHardwareAddress.Should().Be(Phys(PeerMac));
        eth.Type.Should().Be(EthernetType.Arp);
        var arp = packet.Extract<ArpPacket>();
        arp.Operation.Should().Be(ArpOperation.Response);
        arp.HardwareAddressType.Should().Be(LinkLayers.Ethernet);
        arp.ProtocolAddressType.Should().Be(EthernetType.IPv4);
        arp.SenderHardwareAddress.Should().Be(Phys(PeerMac));
        arp.SenderProtocolAddress.Should().Be(IPAddress.Parse(PeerIp));
        arp.TargetHardwareAddress.Should().Be(Phys(VmMac));
        arp.TargetProtocolAddress.Should().Be(IPAddress.Parse(VmIp));
    }

    [Fact]
    public void BuildArpReply_Request_PacketParserReadsReply()
    {
        var reply = ArpReply(ArpFrame(1, VmMac, VmIp, "10.1.255.254"), GatewayMac);

        PacketParser.Parse(reply, out var p);
        p.IsValid.Should().BeTrue();
        p.L3.Should().Be(L3Kind.Arp);
        p.ArpOperation.Should().Be(2);
        p.DstMac.Should().Be(VmMac);
        p.SrcMac.Should().Be(GatewayMac);
        p.ArpSenderMac.Should().Be(GatewayMac);
        p.ArpSenderIp.Should().Be(NetAddress.Parse("10.1.255.254"));
        p.ArpTargetIp.Should().Be(NetAddress.Parse(VmIp));
        NeighborResponder.IsArpRequest(p).Should().BeFalse("a reply is never answered again");
    }

    [Fact]
    public void BuildArpReply_VlanTaggedRequest_KeepsTag()
    {
        var reply = ArpReply(ArpFrame(1, VmMac, VmIp, PeerIp, (EtherType.Vlan, 0x2064)), PeerMac);

        reply.Should().HaveCount(60);
        var packet = Packet.ParsePacket(LinkLayers.Ethernet, reply);
        var vlan = packet.Extract<Ieee8021QPacket>();
        vlan.Should().NotBeNull();
        vlan.VlanIdentifier.Should().Be(100);
        vlan.Type.Should().Be(EthernetType.Arp);
        var arp = packet.Extract<ArpPacket>();
        arp.Operation.Should().Be(ArpOperation.Response);
        arp.SenderHardwareAddress.Should().Be(Phys(PeerMac));
        arp.TargetProtocolAddress.Should().Be(IPAddress.Parse(VmIp));
        PacketParser.Parse(reply, out var p);
        p.VlanCount.Should().Be(1);
        p.OuterVlanTci.Should().Be(0x2064, "priority and VLAN id are copied as they were");
        p.ArpOperation.Should().Be(2);
    }

    [Fact]
    public void BuildArpReply_QinQRequest_KeepsBothTags()
    {
        var request = ArpFrame(1, VmMac, VmIp, PeerIp, (EtherType.QinQ, 0x0010), (EtherType.Vlan, 0x0064));
        var reply = ArpReply(request, PeerMac);

        reply.Should().HaveCount(14 + 8 + 28 + 10, "22 bytes of Ethernet and tags + 28 of ARP, padded to 60");
        reply.AsSpan(12, 10).ToArray().Should().Equal(request.AsSpan(12, 10).ToArray());
        PacketParser.Parse(reply, out var p);
        p.VlanCount.Should().Be(2);
        p.OuterVlanTci.Should().Be(0x0010);
        p.InnerVlanTci.Should().Be(0x0064);
        p.ArpOperation.Should().Be(2);
        p.ArpSenderIp.Should().Be(NetAddress.Parse(PeerIp));
    }

    [Fact]
    public void WriteArpReply_IntoBuffer_SameBytesAsBuild()
    {
        var request = ArpFrame(1, VmMac, VmIp, PeerIp);
        var p = Parse(request);
        var buffer = new byte[100];
        buffer.AsSpan().Fill(0xAA);

        int n = NeighborResponder.WriteArpReply(request, p, PeerMac, buffer);

        n.Should().Be(NeighborResponder.ArpReplyLength(p));
        buffer.AsSpan(0, n).ToArray().Should().Equal(NeighborResponder.BuildArpReply(request, p, PeerMac));
        buffer[n].Should().Be(0xAA, "nothing is written past the reply");
    }

    [Fact]
    public void BuildArpReply_NotARequest_ThrowsArgumentException()
    {
        var notRequest = ArpFrame(2, VmMac, VmIp, PeerIp);
        var p = Parse(notRequest);
        var act = () => NeighborResponder.BuildArpReply(notRequest, p, PeerMac);
        act.Should().Throw<ArgumentException>();
    }

    [Fact]
    public void BuildArpReply_ParseOfAnotherFrame_ThrowsArgumentException()
    {
        var p = Parse(ArpFrame(1, VmMac, VmIp, PeerIp));
        var act = () => NeighborResponder.BuildArpReply(new byte[30], p, PeerMac);
        act.Should().Throw<ArgumentException>();
    }

    [Fact]
    public void WriteArpReply_DestinationTooShort_ThrowsArgumentException()
    {
        var request = ArpFrame(1, VmMac, VmIp, PeerIp);
        var p = Parse(request);
        var act = () => NeighborResponder.WriteArpReply(request, p, PeerMac, new byte[59]);
        act.Should().Throw<ArgumentException>().WithParameterName("destination");
    }

    // ---- Neighbour Solicitation ----

    [Fact]
    public void TryGetSolicitedTarget_UnicastSourceNs_ReturnsTarget()
    {
        var ns = NsFrame(Peer6);
        // The hand-made request is itself a proper NS to an independent decoder.
        var oracle = Packet.ParsePacket(LinkLayers.Ethernet, ns);
        oracle.Extract<IcmpV6Packet>().ValidIcmpChecksum.Should().BeTrue();
        oracle.Extract<NdpNeighborSolicitationPacket>().TargetAddress.Should().Be(IPAddress.Parse(Peer6));

        NeighborResponder.TryGetSolicitedTarget(ns, Parse(ns), out var target).Should().BeTrue();
        target.Should().Be(NetAddress.Parse(Peer6));
    }

    [Fact]
    public void TryGetSolicitedTarget_UnicastDestination_ReturnsTarget()
    {
        // Neighbour unreachability detection solicits the cached address directly.
        var ns = NsFrame(Peer6, destination: Peer6);
        NeighborResponder.TryGetSolicitedTarget(ns, Parse(ns), out var target).Should().BeTrue();
        target.Should().Be(NetAddress.Parse(Peer6));
    }

    [Fact]
    public void TryGetSolicitedTarget_DadFromUnspecified_ReturnsTarget()
    {
        var ns = NsFrame(Vm6, source: "::", sourceLinkLayer: false);
        NeighborResponder.TryGetSolicitedTarget(ns, Parse(ns), out var target).Should().BeTrue();
        target.Should().Be(NetAddress.Parse(Vm6));
    }

    [Fact]
    public void TryGetSolicitedTarget_HopLimit64_False()
    {
        var ns = NsFrame(Peer6, hopLimit: 64);
        NeighborResponder.TryGetSolicitedTarget(ns, Parse(ns), out var target).Should().BeFalse("RFC 4861 requires 255: the NS may come from off-link");
        target.Should().Be(NetAddress.None);
    }

    [Theory]
    [InlineData(8)]
    [InlineData(20)]
    [InlineData(23)]
    public void TryGetSolicitedTarget_TruncatedBody_False(int icmpLength)
    {
        var ns = NsFrame(Peer6, sourceLinkLayer: false, icmpLength: icmpLength);
        NeighborResponder.TryGetSolicitedTarget(ns, Parse(ns), out _).Should().BeFalse();
    }

    [Fact]
    public void TryGetSolicitedTarget_BadChecksum_False()
    {
        var ns = NsFrame(Peer6, breakChecksum: true);
        NeighborResponder.TryGetSolicitedTarget(ns, Parse(ns), out _).Should().BeFalse();
    }

    [Fact]
    public void TryGetSolicitedTarget_NonZeroCode_False()
    {
        var ns = NsFrame(Peer6, code: 1);
        NeighborResponder.TryGetSolicitedTarget(ns, Parse(ns), out _).Should().BeFalse();
    }

    [Fact]
    public void TryGetSolicitedTarget_MulticastTarget_False()
    {
        var ns = NsFrame("ff02::1", destination: "ff02::1:ff00:1");
        NeighborResponder.TryGetSolicitedTarget(ns, Parse(ns), out _).Should().BeFalse();
    }

    [Fact]
    public void TryGetSolicitedTarget_ZeroLengthOption_False()
    {
        var ns = NsFrame(Peer6, extraOption: [14, 0, 0, 0, 0, 0, 0, 0]);
        NeighborResponder.TryGetSolicitedTarget(ns, Parse(ns), out _).Should().BeFalse();
    }

    [Fact]
    public void TryGetSolicitedTarget_OptionOverrunningMessage_False()
    {
        var ns = NsFrame(Peer6, extraOption: [14, 2, 0, 0, 0, 0, 0, 0]);
        NeighborResponder.TryGetSolicitedTarget(ns, Parse(ns), out _).Should().BeFalse();
    }

    [Fact]
    public void TryGetSolicitedTarget_UnknownOption_StillAccepted()
    {
        // RFC 4861 §4.6: options a node does not understand are skipped, not fatal.
        var ns = NsFrame(Peer6, extraOption: [14, 1, 1, 2, 3, 4, 5, 6]);
        NeighborResponder.TryGetSolicitedTarget(ns, Parse(ns), out var target).Should().BeTrue();
        target.Should().Be(NetAddress.Parse(Peer6));
    }

    [Fact]
    public void TryGetSolicitedTarget_DadWithSourceLinkLayerOption_False()
    {
        var ns = NsFrame(Vm6, source: "::", sourceLinkLayer: true);
        NeighborResponder.TryGetSolicitedTarget(ns, Parse(ns), out _).Should().BeFalse();
    }

    [Fact]
    public void TryGetSolicitedTarget_DadToUnicastDestination_False()
    {
        var ns = NsFrame(Vm6, source: "::", destination: Peer6, sourceLinkLayer: false);
        NeighborResponder.TryGetSolicitedTarget(ns, Parse(ns), out _).Should().BeFalse();
    }

    [Fact]
    public void TryGetSolicitedTarget_EchoRequest_False()
    {
        var echo = FrameBuilder.EchoFrame(Vm6, Peer6, 7);
        NeighborResponder.TryGetSolicitedTarget(echo, Parse(echo), out _).Should().BeFalse();
    }

    [Fact]
    public void TryGetSolicitedTarget_ParseOfAnotherFrame_False()
    {
        var ns = NsFrame(Peer6);
        var p = Parse(ns);
        NeighborResponder.TryGetSolicitedTarget(ns.AsSpan(0, 40), p, out _).Should().BeFalse();
        NeighborResponder.TryGetSolicitedTarget(new byte[ns.Length], p, out _).Should().BeFalse();
    }

    // ---- Neighbour Advertisement ----

    [Fact]
    public void BuildNeighborAdvertisement_UnicastNs_PacketDotNetDecodesAdvertisement()
    {
        var na = Advertisement(NsFrame(Peer6), PeerMac);

        var packet = Packet.ParsePacket(LinkLayers.Ethernet, na);
        var eth = (EthernetPacket)packet;
        eth.DestinationHardwareAddress.Should().Be(Phys(VmMac));
        eth.SourceHardwareAddress.Should().Be(Phys(PeerMac));
        var ip = packet.Extract<IPv6Packet>();
        ip.SourceAddress.Should().Be(IPAddress.Parse(Peer6));
        ip.DestinationAddress.Should().Be(IPAddress.Parse(Vm6));
        ip.HopLimit.Should().Be(255);
        ip.PayloadLength.Should().Be(32);
        var icmp = packet.Extract<IcmpV6Packet>();
        icmp.Type.Should().Be(IcmpV6Type.NeighborAdvertisement);
        icmp.Code.Should().Be(0);
        icmp.ValidIcmpChecksum.Should().BeTrue();
        var adv = packet.Extract<NdpNeighborAdvertisementPacket>();
        adv.TargetAddress.Should().Be(IPAddress.Parse(Peer6));
        adv.Solicited.Should().BeTrue();
        adv.Override.Should().BeTrue();
        adv.Router.Should().BeFalse();
        var option = adv.OptionsCollection.Should().ContainSingle().Which.Should().BeOfType<NdpLinkLayerAddressOption>().Which;
        option.Type.Should().Be(OptionTypes.TargetLinkLayerAddress);
        option.LinkLayerAddress.Should().Be(Phys(PeerMac));
    }

    [Fact]
    public void BuildNeighborAdvertisement_Gateway_SetsRouterFlag()
    {
        var na = Advertisement(NsFrame(Gateway6, source: "fe80::2"), GatewayMac, isRouter: true);

        var adv = Packet.ParsePacket(LinkLayers.Ethernet, na).Extract<NdpNeighborAdvertisementPacket>();
        adv.Router.Should().BeTrue();
        adv.Solicited.Should().BeTrue();
        adv.Override.Should().BeTrue();
        adv.TargetAddress.Should().Be(IPAddress.Parse(Gateway6));
        Packet.ParsePacket(LinkLayers.Ethernet, na).Extract<IcmpV6Packet>().ValidIcmpChecksum.Should().BeTrue();
    }

    [Fact]
    public void BuildNeighborAdvertisement_DadNs_GoesToAllNodesUnsolicited()
    {
        var na = Advertisement(NsFrame(Peer6, source: "::", sourceLinkLayer: false), PeerMac);

        var packet = Packet.ParsePacket(LinkLayers.Ethernet, na);
        ((EthernetPacket)packet).DestinationHardwareAddress.Should().Be(PhysicalAddress.Parse("33-33-00-00-00-01"));
        var ip = packet.Extract<IPv6Packet>();
        ip.DestinationAddress.Should().Be(IPAddress.Parse("ff02::1"));
        ip.SourceAddress.Should().Be(IPAddress.Parse(Peer6));
        packet.Extract<IcmpV6Packet>().ValidIcmpChecksum.Should().BeTrue();
        var adv = packet.Extract<NdpNeighborAdvertisementPacket>();
        adv.Solicited.Should().BeFalse("RFC 4861 §7.2.4: an answer to DAD is not solicited");
        adv.Override.Should().BeTrue();
    }

    [Fact]
    public void BuildNeighborAdvertisement_UnicastNs_PacketParserReadsAdvertisement()
    {
        var na = Advertisement(NsFrame(Peer6), PeerMac);

        PacketParser.Parse(na, out var p);
        p.IsValid.Should().BeTrue();
        p.L3.Should().Be(L3Kind.IPv6);
        p.Protocol.Should().Be(IpProtocol.IcmpV6);
        p.IcmpType.Should().Be(136);
        p.IcmpCode.Should().Be(0);
        p.Ttl.Should().Be(255);
        p.SrcIp.Should().Be(NetAddress.Parse(Peer6));
        p.DstIp.Should().Be(NetAddress.Parse(Vm6));
        p.SrcMac.Should().Be(PeerMac);
        p.DstMac.Should().Be(VmMac);
        p.L3End.Should().Be(na.Length);
        var icmp = na.AsSpan(p.L4Offset, p.L3End - p.L4Offset);
        FrameBuilder.ReferenceSum(icmp, FrameBuilder.ReferenceSum(FrameBuilder.PseudoHeader(p.SrcIp, p.DstIp, 58, icmp.Length)))
            .Should().Be(0xFFFF, "the checksum verifies by the naive reference sum");
        NetAddress.FromV6Bytes(icmp.Slice(8, 16)).Should().Be(NetAddress.Parse(Peer6));
        MacAddress.Read(icmp.Slice(26, 6)).Should().Be(PeerMac);
        NeighborResponder.TryGetSolicitedTarget(na, p, out _).Should().BeFalse("an advertisement is never answered");
    }

    [Fact]
    public void BuildNeighborAdvertisement_VlanTaggedNs_KeepsTag()
    {
        var na = Advertisement(NsFrame(Peer6, tags: [(EtherType.Vlan, 0x0ABC)]), PeerMac);

        var packet = Packet.ParsePacket(LinkLayers.Ethernet, na);
        packet.Extract<Ieee8021QPacket>().VlanIdentifier.Should().Be(0xABC);
        packet.Extract<IcmpV6Packet>().ValidIcmpChecksum.Should().BeTrue();
        PacketParser.Parse(na, out var p);
        p.VlanCount.Should().Be(1);
        p.OuterVlanTci.Should().Be(0x0ABC);
        p.IcmpType.Should().Be(136);
    }

    [Fact]
    public void WriteNeighborAdvertisement_IntoBuffer_SameBytesAsBuild()
    {
        var ns = NsFrame(Peer6);
        var p = Parse(ns);
        NeighborResponder.TryGetSolicitedTarget(ns, p, out var target).Should().BeTrue();
        var buffer = new byte[200];

        int n = NeighborResponder.WriteNeighborAdvertisement(ns, p, target, PeerMac, isRouter: false, buffer);

        n.Should().Be(NeighborResponder.NeighborAdvertisementLength(p)).And.Be(14 + 40 + 32);
        buffer.AsSpan(0, n).ToArray().Should().Equal(NeighborResponder.BuildNeighborAdvertisement(ns, p, target, PeerMac, false));
    }

    [Fact]
    public void BuildNeighborAdvertisement_WrongTarget_ThrowsArgumentException()
    {
        var ns = NsFrame(Peer6);
        var act = () => NeighborResponder.BuildNeighborAdvertisement(ns, Parse(ns), NetAddress.Parse(Vm6), PeerMac, false);
        act.Should().Throw<ArgumentException>().WithParameterName("target");
    }

    [Fact]
    public void BuildNeighborAdvertisement_NotASolicitation_ThrowsArgumentException()
    {
        var ns = NsFrame(Peer6, hopLimit: 64);
        var act = () => NeighborResponder.BuildNeighborAdvertisement(ns, Parse(ns), NetAddress.Parse(Peer6), PeerMac, false);
        act.Should().Throw<ArgumentException>().WithParameterName("solicitation");
    }

    // ---- tshark as an independent decoder ----

    [Fact]
    public void Replies_DecodedByTshark_RightFieldsAndGoodChecksums()
    {
        TsharkRunner.IsAvailable.Should().BeTrue(TsharkRunner.MissingMessage);
        var frames = new[]
        {
            ArpReply(ArpFrame(1, VmMac, VmIp, PeerIp), PeerMac),
            ArpReply(ArpFrame(1, VmMac, VmIp, "10.1.255.254", (EtherType.Vlan, 100)), GatewayMac),
            Advertisement(NsFrame(Peer6), PeerMac),
            Advertisement(NsFrame(Gateway6, source: "fe80::2", tags: [(EtherType.Vlan, 100)]), GatewayMac, isRouter: true),
            Advertisement(NsFrame(Peer6, source: "::", sourceLinkLayer: false), PeerMac),
        };
        string dir = Path.Combine(Path.GetTempPath(), $"offload-neighbor-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, "replies.pcap");
        try
        {
            using (var writer = PcapWriter.Create(path))
            {
                for (int i = 0; i < frames.Length; i++)
                    writer.Write(1_700_000_000 + i, 0, frames[i]);
            }
            var lines = TsharkRunner.Run(path, "-T", "fields", "-E", "separator=|",
                "-e", "eth.dst", "-e", "eth.src", "-e", "vlan.id",
                "-e", "arp.opcode", "-e", "arp.src.hw_mac", "-e", "arp.src.proto_ipv4", "-e", "arp.dst.hw_mac", "-e", "arp.dst.proto_ipv4",
                "-e", "ipv6.src", "-e", "ipv6.dst", "-e", "ipv6.hlim", "-e", "icmpv6.type", "-e", "icmpv6.checksum.status",
                "-e", "icmpv6.nd.na.target_address", "-e", "icmpv6.opt.linkaddr",
                "-e", "icmpv6.nd.na.flag.r", "-e", "icmpv6.nd.na.flag.s", "-e", "icmpv6.nd.na.flag.o", "-e", "_ws.expert");
            // checksum.status 1 = Good; the last column (expert info) would name a bad checksum or a malformed field.
            lines.Should().Equal(
                "02:00:00:01:00:01|02:00:00:01:00:03||2|02:00:00:01:00:03|10.1.0.2|02:00:00:01:00:01|10.1.0.1|||||||||||",
                "02:00:00:01:00:01|02:00:00:00:ff:fe|100|2|02:00:00:00:ff:fe|10.1.255.254|02:00:00:01:00:01|10.1.0.1|||||||||||",
                "02:00:00:01:00:01|02:00:00:01:00:03|||||||fd00:1::2|fd00:1::1|255|136|1|fd00:1::2|02:00:00:01:00:03|0|1|1|",
                "02:00:00:01:00:01|02:00:00:00:ff:fe|100||||||fe80::1|fe80::2|255|136|1|fe80::1|02:00:00:00:ff:fe|1|1|1|",
                "33:33:00:00:00:01|02:00:00:01:00:03|||||||fd00:1::2|ff02::1|255|136|1|fd00:1::2|02:00:00:01:00:03|0|0|1|");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    // ---- bad input ----

    private const int RandomIterations = 100_000;

    [Fact]
    public void Recognisers_RandomBytes_NeverThrowAndOnlyAcceptWhatTheyClaim()
    {
        // Random bytes behind a plausible header reach the ARP and ICMPv6 paths, not just the EtherType check.
        var gen = Gen.Select(Gen.Byte.Array[0, 120], Gen.Int[0, 3], (bytes, kind) =>
        {
            if (kind == 0 || bytes.Length < 14)
                return bytes;
            BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(12), kind == 1 ? EtherType.Arp : EtherType.IPv6);
            if (kind == 3 && bytes.Length >= 62)
            {
                bytes[14] = 0x60;
                bytes[20] = IpProtocol.IcmpV6;
                bytes[21] = 255;
                bytes[54] = 135;
                bytes[55] = 0;
            }
            return bytes;
        });
        gen.Sample(frame =>
        {
            PacketParser.Parse(frame, out var p);
            if (NeighborResponder.IsArpRequest(p))
            {
                p.ArpOperation.Should().Be(1);
                NeighborResponder.BuildArpReply(frame, p, PeerMac).Length.Should().BeGreaterThanOrEqualTo(60);
            }
            if (NeighborResponder.TryGetSolicitedTarget(frame, p, out var target))
                frame[p.L4Offset].Should().Be(135);
            else
                target.Should().Be(NetAddress.None);
        }, iter: RandomIterations);
    }

    [Fact]
    public void Recognisers_MutatedRequests_NeverThrowAndAcceptedOnesAnswerCorrectly()
    {
        var seeds = new[]
        {
            ArpFrame(1, VmMac, VmIp, PeerIp),
            ArpFrame(1, VmMac, VmIp, PeerIp, (EtherType.Vlan, 7)),
            NsFrame(Peer6),
            NsFrame(Peer6, tags: [(EtherType.Vlan, 7)]),
            NsFrame(Peer6, source: "::", sourceLinkLayer: false),
        };
        var gen = Gen.Select(Gen.Int[0, seeds.Length - 1], Gen.Int[0, 99].Array[1, 4], Gen.Byte.Array[4], Gen.Int[0, 100],
            (seed, positions, values, cut) =>
            {
                var f = (byte[])seeds[seed].Clone();
                for (int i = 0; i < positions.Length; i++)
                {
                    if (positions[i] < f.Length)
                        f[positions[i]] = values[i];
                }
                return cut < f.Length && cut > 90 ? f.AsSpan(0, cut).ToArray() : f;
            });
        gen.Sample(frame =>
        {
            PacketParser.Parse(frame, out var p);
            if (NeighborResponder.IsArpRequest(p))
            {
                PacketParser.Parse(NeighborResponder.BuildArpReply(frame, p, PeerMac), out var r);
                r.IsValid.Should().BeTrue();
                r.ArpOperation.Should().Be(2);
                r.ArpSenderIp.Should().Be(p.ArpTargetIp);
                r.ArpTargetIp.Should().Be(p.ArpSenderIp);
                r.DstMac.Should().Be(p.ArpSenderMac);
            }
            if (NeighborResponder.TryGetSolicitedTarget(frame, p, out var target))
            {
                var na = NeighborResponder.BuildNeighborAdvertisement(frame, p, target, PeerMac, isRouter: false);
                PacketParser.Parse(na, out var r);
                r.IsValid.Should().BeTrue();
                r.IcmpType.Should().Be(136);
                r.SrcIp.Should().Be(target);
                var icmp = na.AsSpan(r.L4Offset, r.L3End - r.L4Offset);
                Checksum.Verify(icmp, FrameBuilder.ReferenceSum(FrameBuilder.PseudoHeader(r.SrcIp, r.DstIp, 58, icmp.Length)))
                    .Should().BeTrue();
            }
        }, iter: 20_000);
    }

    [Fact]
    public void TryGetSolicitedTarget_InconsistentParseFields_NeverThrows()
    {
        var ns = NsFrame(Peer6);
        var good = Parse(ns);
        Gen.Select(Gen.Int[-5, 120], Gen.Int[-5, 120], Gen.Int[-5, 120], Gen.Int[0, 120], (l3, l4, end, length) => (l3, l4, end, length))
            .Sample(t =>
            {
                var p = good;
                p.L3Offset = t.l3;
                p.L4Offset = t.l4;
                p.L3End = t.end;
                var frame = ns.AsSpan(0, Math.Min(t.length, ns.Length));
                p.FrameLength = frame.Length;
                bool accepted = NeighborResponder.TryGetSolicitedTarget(frame, p, out var target);
                // Only offsets describing the real solicitation let it through.
                if (accepted)
                {
                    target.Should().Be(NetAddress.Parse(Peer6));
                    (p.L4Offset, p.L3End).Should().Be((good.L4Offset, good.L3End));
                }
                NeighborResponder.IsArpRequest(p).Should().BeFalse();
            }, iter: RandomIterations);
    }

    [Fact]
    public void Checksum_HandMadeSolicitation_MatchesPacketDotNet()
    {
        // Guards the test builder itself: PacketDotNet computes the same ICMPv6 checksum.
        var ns = NsFrame(Peer6);
        var icmp = Packet.ParsePacket(LinkLayers.Ethernet, ns).Extract<IcmpV6Packet>();
        icmp.CalculateIcmpChecksum().Should().Be(BinaryPrimitives.ReadUInt16BigEndian(ns.AsSpan(14 + 40 + 2)));
    }
}
