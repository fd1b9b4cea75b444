using System.Buffers.Binary;
using Offload.Packets;
using static Offload.Tests.Packets.Frames;

namespace Offload.Tests.Packets;

public class PacketParserTests
{
    private const string A = "10.0.0.1";
    private const string B = "10.0.0.2";
    private const string A6 = "2001:db8::1";
    private const string B6 = "2001:db8::2";

    private static byte[] TcpV4(ushort sp = 40000, ushort dp = 80) =>
        Ethernet(EtherType.IPv4, Ipv4(IpProtocol.Tcp, A, B, Tcp(sp, dp, TcpFlags.Syn | TcpFlags.Ack, 7, 9, 4, [1, 2, 3])));

    // ---- Ethernet / VLAN ----

    [Fact]
    public void Parse_TcpOverIpv4_FillsEveryLayer()
    {
        var frame = TcpV4();
        var p = Parse(frame);
        p.Error.Should().Be(DropReason.None);
        p.FrameLength.Should().Be(frame.Length);
        p.SrcMac.Should().Be(MacAddress.Read(SrcMac));
        p.DstMac.Should().Be(MacAddress.Read(DstMac));
        p.EtherType.Should().Be(EtherType.IPv4);
        p.VlanCount.Should().Be(0);
        p.L3.Should().Be(L3Kind.IPv4);
        p.L3Offset.Should().Be(14);
        p.L3End.Should().Be(frame.Length);
        p.SrcIp.Should().Be(NetAddress.Parse(A));
        p.DstIp.Should().Be(NetAddress.Parse(B));
        p.Protocol.Should().Be(IpProtocol.Tcp);
        p.Ttl.Should().Be(64);
        p.IpId.Should().Be(0x1234u);
        p.IsFragment.Should().BeFalse();
        p.L4Offset.Should().Be(34);
        p.HasPorts.Should().BeTrue();
        (p.SrcPort, p.DstPort).Should().Be(((ushort)40000, (ushort)80));
        p.TcpFlags.Should().Be(TcpFlags.Syn | TcpFlags.Ack);
        (p.TcpSeq, p.TcpAck, p.TcpWindow).Should().Be((7u, 9u, (ushort)65535));
        p.PayloadOffset.Should().Be(34 + 24);
        p.PayloadLength.Should().Be(3);
        p.Tunnel.Should().Be(TunnelKind.None);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(13)]
    public void Parse_ShorterThanEthernetHeader_TruncatedEthernet(int length)
    {
        Parse(new byte[length]).Error.Should().Be(DropReason.TruncatedEthernet);
    }

    [Fact]
    public void Parse_SingleVlanTag_ReadsTciAndInnerEtherType()
    {
        var p = Parse(Ethernet(EtherType.IPv4, Ipv4(IpProtocol.Udp, A, B, Udp(1, 2)), (EtherType.Vlan, 0x2064)));
        p.Error.Should().Be(DropReason.None);
        p.VlanCount.Should().Be(1);
        p.OuterVlanTci.Should().Be(0x2064);
        p.L3Offset.Should().Be(18);
        p.EtherType.Should().Be(EtherType.IPv4);
    }

    [Theory]
    [InlineData(EtherType.QinQ)]
    [InlineData(EtherType.QinQLegacy)]
    public void Parse_QinQ_ReadsBothTags(ushort outerTpid)
    {
        var p = Parse(Ethernet(EtherType.IPv6, Ipv6(IpProtocol.Udp, A6, B6, Udp(5, 6)), (outerTpid, 100), (EtherType.Vlan, 200)));
        p.Error.Should().Be(DropReason.None);
        p.VlanCount.Should().Be(2);
        (p.OuterVlanTci, p.InnerVlanTci).Should().Be(((ushort)100, (ushort)200));
        p.L3Offset.Should().Be(22);
        p.L3.Should().Be(L3Kind.IPv6);
        (p.SrcPort, p.DstPort).Should().Be(((ushort)5, (ushort)6));
    }

    [Fact]
    public void Parse_ThreeVlanTags_BadVlan()
    {
        Parse(Ethernet(EtherType.IPv4, Ipv4(IpProtocol.Udp, A, B, Udp(1, 2)), (EtherType.QinQ, 1), (EtherType.Vlan, 2), (EtherType.Vlan, 3)))
            .Error.Should().Be(DropReason.BadVlan);
    }

    [Fact]
    public void Parse_VlanTagCutShort_BadVlan()
    {
        Parse(Ethernet(EtherType.Vlan, [0x00, 0x01])).Error.Should().Be(DropReason.BadVlan);
    }

    [Theory]
    [InlineData(0x88CC)] // LLDP
    [InlineData(0x0026)] // 802.3 length field
    [InlineData(0x05FF)]
    public void Parse_OtherEtherType_Unsupported(ushort etherType)
    {
        Parse(Ethernet(etherType, new byte[46])).Error.Should().Be(DropReason.UnsupportedEtherType);
    }

    // ---- ARP ----

    [Fact]
    public void Parse_ArpRequest_ReadsSenderAndTarget()
    {
        var p = Parse(Ethernet(EtherType.Arp, Concat(Arp(1, "10.1.0.1", "10.1.0.254"), new byte[18])));
        p.Error.Should().Be(DropReason.None);
        p.L3.Should().Be(L3Kind.Arp);
        p.ArpOperation.Should().Be(1);
        p.ArpSenderMac.Should().Be(MacAddress.Read(SrcMac));
        p.ArpSenderIp.Should().Be(NetAddress.Parse("10.1.0.1"));
        p.ArpTargetIp.Should().Be(NetAddress.Parse("10.1.0.254"));
        p.IsIp.Should().BeFalse();
    }

    [Fact]
    public void Parse_ArpCutShortOrNotIpv4_BadArp()
    {
        Parse(Ethernet(EtherType.Arp, Arp(1, A, B)[..27])).Error.Should().Be(DropReason.BadArp);
        var arp = Arp(1, A, B);
        arp[5] = 16; // protocol address length of IPv6: not Ethernet/IPv4 ARP
        Parse(Ethernet(EtherType.Arp, arp)).Error.Should().Be(DropReason.BadArp);
    }

    // ---- IPv4 ----

    [Fact]
    public void Parse_EthernetPadding_IgnoredBeyondTotalLength()
    {
        var ip = Ipv4(IpProtocol.Udp, A, B, Udp(1, 2, [9]));
        var p = Parse(Ethernet(EtherType.IPv4, Concat(ip, new byte[20])));
        p.Error.Should().Be(DropReason.None);
        p.L3End.Should().Be(14 + ip.Length);
        p.PayloadLength.Should().Be(1);
    }

    [Fact]
    public void Parse_Ipv4HeaderProblems_BadIpv4Header()
    {
        Parse(Ethernet(EtherType.IPv4, new byte[19])).Error.Should().Be(DropReason.BadIpv4Header);
        var wrongVersion = Ipv4(IpProtocol.Udp, A, B, Udp(1, 2));
        wrongVersion[0] = 0x55;
        Parse(Ethernet(EtherType.IPv4, wrongVersion)).Error.Should().Be(DropReason.BadIpv4Header);
        var smallIhl = Ipv4(IpProtocol.Udp, A, B, Udp(1, 2));
        smallIhl[0] = 0x44;
        Parse(Ethernet(EtherType.IPv4, smallIhl)).Error.Should().Be(DropReason.BadIpv4Header);
        var ihlBeyondFrame = Ipv4(IpProtocol.Udp, A, B, []);
        ihlBeyondFrame[0] = 0x46;
        Parse(Ethernet(EtherType.IPv4, ihlBeyondFrame)).Error.Should().Be(DropReason.BadIpv4Header);
    }

    [Theory]
    [InlineData(19)] // below the header
    [InlineData(29)] // beyond the frame
    public void Parse_Ipv4TotalLengthInconsistent_BadIpv4Length(int totalLength)
    {
        var ip = Ipv4(IpProtocol.Udp, A, B, Udp(1, 2));
        BinaryPrimitives.WriteUInt16BigEndian(ip.AsSpan(2), (ushort)totalLength);
        Parse(Ethernet(EtherType.IPv4, ip)).Error.Should().Be(DropReason.BadIpv4Length);
    }

    [Fact]
    public void Parse_WellFormedIpv4Options_Accepted()
    {
        // NOP, Router Alert (type 148, length 4), NOP, NOP, EOL then padding after EOL.
        byte[] options = [1, 148, 4, 0, 0, 1, 1, 0, 0xAA, 0xBB, 0xCC, 0xDD];
        var p = Parse(Ethernet(EtherType.IPv4, Ipv4(IpProtocol.Udp, A, B, Udp(7, 8), options)));
        p.Error.Should().Be(DropReason.None);
        p.L4Offset.Should().Be(14 + 32);
        (p.SrcPort, p.DstPort).Should().Be(((ushort)7, (ushort)8));
    }

    [Theory]
    [InlineData(new byte[] { 148, 1, 0, 0 })] // length < 2
    [InlineData(new byte[] { 1, 1, 1, 148 })] // length byte missing
    [InlineData(new byte[] { 7, 8, 4, 0 })] // record route running past the header
    public void Parse_MalformedIpv4Options_BadIpv4Options(byte[] options)
    {
        Parse(Ethernet(EtherType.IPv4, Ipv4(IpProtocol.Udp, A, B, Udp(7, 8), options))).Error.Should().Be(DropReason.BadIpv4Options);
    }

    [Fact]
    public void Parse_OtherProtocol_NoPortsNoError()
    {
        var p = Parse(Ethernet(EtherType.IPv4, Ipv4(132, A, B, new byte[12])));
        p.Error.Should().Be(DropReason.None);
        p.Protocol.Should().Be(132);
        p.HasPorts.Should().BeFalse();
        p.PayloadLength.Should().Be(12);
    }

    // ---- fragments ----

    [Fact]
    public void Parse_Ipv4FirstFragment_HasPorts()
    {
        var p = Parse(Ethernet(EtherType.IPv4, Ipv4(IpProtocol.Udp, A, B, Udp(53, 5353, new byte[64])[..40], id: 77, moreFragments: true)));
        p.Error.Should().Be(DropReason.None, "a first fragment's UDP length may exceed what it carries");
        p.IsFragment.Should().BeTrue();
        p.MoreFragments.Should().BeTrue();
        p.FragmentOffset.Should().Be(0);
        p.HasPorts.Should().BeTrue();
        (p.SrcPort, p.DstPort).Should().Be(((ushort)53, (ushort)5353));
        p.IpId.Should().Be(77u);
    }

    [Fact]
    public void Parse_Ipv4LaterFragment_NoPortsDataOffset()
    {
        var p = Parse(Ethernet(EtherType.IPv4, Ipv4(IpProtocol.Tcp, A, B, new byte[16], id: 77, fragmentOffset: 1480)));
        p.Error.Should().Be(DropReason.None);
        p.IsFragment.Should().BeTrue();
        p.MoreFragments.Should().BeFalse();
        p.FragmentOffset.Should().Be(1480);
        p.HasPorts.Should().BeFalse();
        (p.SrcPort, p.DstPort).Should().Be(((ushort)0, (ushort)0));
        p.L4Offset.Should().Be(34);
        p.PayloadOffset.Should().Be(34);
    }

    [Theory]
    [InlineData(IpProtocol.Udp, 3)]
    [InlineData(IpProtocol.Tcp, 3)]
    [InlineData(IpProtocol.Tcp, 12)]
    public void Parse_TinyFirstFragment_BadFragment(byte protocol, int bytes)
    {
        Parse(Ethernet(EtherType.IPv4, Ipv4(protocol, A, B, new byte[bytes], moreFragments: true))).Error.Should().Be(DropReason.BadFragment);
    }

    // ---- IPv6 ----

    [Fact]
    public void Parse_Ipv6Udp_FillsFields()
    {
        var frame = Ethernet(EtherType.IPv6, Ipv6(IpProtocol.Udp, A6, B6, Udp(1000, 53, [1, 2]), hopLimit: 9, trafficClass: 0xB8));
        var p = Parse(frame);
        p.Error.Should().Be(DropReason.None);
        p.L3.Should().Be(L3Kind.IPv6);
        p.SrcIp.Should().Be(NetAddress.Parse(A6));
        p.DstIp.Should().Be(NetAddress.Parse(B6));
        (p.Ttl, p.TrafficClass).Should().Be(((byte)9, (byte)0xB8));
        p.L4Offset.Should().Be(54);
        p.L3End.Should().Be(frame.Length);
        (p.SrcPort, p.DstPort, p.PayloadLength).Should().Be(((ushort)1000, (ushort)53, 2));
    }

    [Fact]
    public void Parse_Ipv6HeaderProblems_BadIpv6Header()
    {
        Parse(Ethernet(EtherType.IPv6, new byte[39])).Error.Should().Be(DropReason.BadIpv6Header);
        var v = Ipv6(IpProtocol.Udp, A6, B6, Udp(1, 2));
        v[0] = 0x40;
        Parse(Ethernet(EtherType.IPv6, v)).Error.Should().Be(DropReason.BadIpv6Header);
        var longPayload = Ipv6(IpProtocol.Udp, A6, B6, Udp(1, 2));
        longPayload[5] = 9;
        Parse(Ethernet(EtherType.IPv6, longPayload)).Error.Should().Be(DropReason.BadIpv6Header);
    }

    [Fact]
    public void Parse_Ipv6ExtensionChain_FollowedToTcp()
    {
        var chain = Concat(
            Extension(IpProtocol.DestinationOptions),
            Extension(IpProtocol.Routing, 1),
            Extension(IpProtocol.Ah, 0),
            Ah(IpProtocol.Mobility),
            Extension(IpProtocol.Tcp),
            Tcp(443, 51000));
        var p = Parse(Ethernet(EtherType.IPv6, Ipv6(IpProtocol.HopByHop, A6, B6, chain)));
        p.Error.Should().Be(DropReason.None);
        p.Protocol.Should().Be(IpProtocol.Tcp);
        p.L4Offset.Should().Be(54 + 8 + 16 + 8 + 24 + 8);
        (p.SrcPort, p.DstPort).Should().Be(((ushort)443, (ushort)51000));
    }

    [Fact]
    public void Parse_EightExtensionHeaders_Accepted_NineTooLong()
    {
        static byte[] Chain(int n)
        {
            var parts = new List<byte[]>();
            for (int i = 0; i < n; i++)
                parts.Add(Extension(i == n - 1 ? IpProtocol.Udp : IpProtocol.DestinationOptions));
            parts.Add(Udp(1, 2));
            return Ethernet(EtherType.IPv6, Ipv6(IpProtocol.DestinationOptions, A6, B6, Concat(parts.ToArray())));
        }
        Parse(Chain(PacketParser.MaxIpv6ExtensionHeaders)).Error.Should().Be(DropReason.None);
        Parse(Chain(PacketParser.MaxIpv6ExtensionHeaders + 1)).Error.Should().Be(DropReason.Ipv6ExtensionChainTooLong);
    }

    [Fact]
    public void Parse_ExtensionHeaderCutShort_BadIpv6ExtensionHeader()
    {
        Parse(Ethernet(EtherType.IPv6, Ipv6(IpProtocol.HopByHop, A6, B6, Extension(IpProtocol.Udp, 2)[..16])))
            .Error.Should().Be(DropReason.BadIpv6ExtensionHeader);
        Parse(Ethernet(EtherType.IPv6, Ipv6(IpProtocol.Fragment, A6, B6, new byte[7])))
            .Error.Should().Be(DropReason.BadIpv6ExtensionHeader);
        Parse(Ethernet(EtherType.IPv6, Ipv6(IpProtocol.Routing, A6, B6, [])))
            .Error.Should().Be(DropReason.BadIpv6ExtensionHeader);
    }

    [Theory]
    [InlineData(IpProtocol.Esp)]
    [InlineData(IpProtocol.NoNextHeader)]
    public void Parse_EspOrNoNextHeader_EndsChainWithoutPorts(byte last)
    {
        var p = Parse(Ethernet(EtherType.IPv6, Ipv6(IpProtocol.HopByHop, A6, B6, Concat(Extension(last), new byte[16]))));
        p.Error.Should().Be(DropReason.None);
        p.Protocol.Should().Be(last);
        p.HasPorts.Should().BeFalse();
        p.L4Offset.Should().Be(62);
    }

    [Fact]
    public void Parse_Ipv6Fragments_FirstHasPortsLaterNot()
    {
        var first = Parse(Ethernet(EtherType.IPv6, Ipv6(IpProtocol.Fragment, A6, B6,
            Concat(Ipv6Fragment(IpProtocol.Udp, 0, true, 0xDEADBEEF), Udp(4000, 4001, new byte[100])[..48]))));
        first.Error.Should().Be(DropReason.None);
        (first.IsFragment, first.MoreFragments, first.FragmentOffset, first.IpId).Should().Be((true, true, 0, 0xDEADBEEFu));
        (first.HasPorts, first.SrcPort, first.DstPort).Should().Be((true, (ushort)4000, (ushort)4001));

        var later = Parse(Ethernet(EtherType.IPv6, Ipv6(IpProtocol.Fragment, A6, B6,
            Concat(Ipv6Fragment(IpProtocol.Udp, 48, false, 0xDEADBEEF), new byte[60]))));
        later.Error.Should().Be(DropReason.None);
        (later.IsFragment, later.MoreFragments, later.FragmentOffset, later.HasPorts).Should().Be((true, false, 48, false));
        later.Protocol.Should().Be(IpProtocol.Udp);
        later.L4Offset.Should().Be(62);
    }

    [Fact]
    public void Parse_Ipv6LaterFragmentOfExtensionHeader_DataNotWalked()
    {
        // The payload after a non-first fragment header is data even when the next header names an extension;
        // walking it would read garbage lengths.
        var p = Parse(Ethernet(EtherType.IPv6, Ipv6(IpProtocol.Fragment, A6, B6,
            Concat(Ipv6Fragment(IpProtocol.DestinationOptions, 64, false, 5), [0x11, 0xFF, 0, 0]))));
        (p.Error, p.Protocol, p.L4Offset, p.HasPorts).Should().Be((DropReason.None, IpProtocol.DestinationOptions, 62, false));
    }

    // ---- TCP / UDP ----

    [Fact]
    public void Parse_TcpProblems_BadTcpHeader()
    {
        Parse(Ethernet(EtherType.IPv4, Ipv4(IpProtocol.Tcp, A, B, new byte[19]))).Error.Should().Be(DropReason.BadTcpHeader);
        var lowOffset = Tcp(1, 2);
        lowOffset[12] = 0x40;
        Parse(Ethernet(EtherType.IPv4, Ipv4(IpProtocol.Tcp, A, B, lowOffset))).Error.Should().Be(DropReason.BadTcpHeader);
        var offsetBeyond = Tcp(1, 2);
        offsetBeyond[12] = 0x60;
        Parse(Ethernet(EtherType.IPv4, Ipv4(IpProtocol.Tcp, A, B, offsetBeyond))).Error.Should().Be(DropReason.BadTcpHeader);
    }

    [Fact]
    public void Parse_UdpProblems_BadUdpHeader()
    {
        Parse(Ethernet(EtherType.IPv4, Ipv4(IpProtocol.Udp, A, B, new byte[7]))).Error.Should().Be(DropReason.BadUdpHeader);
        foreach (ushort length in new ushort[] { 0, 7, 11 })
        {
            var udp = Udp(1, 2, [1, 2]);
            BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(4), length);
            Parse(Ethernet(EtherType.IPv6, Ipv6(IpProtocol.Udp, A6, B6, udp))).Error.Should().Be(DropReason.BadUdpHeader, $"length {length}");
        }
    }

    [Fact]
    public void Parse_UdpLengthShorterThanIpPayload_PayloadFollowsUdpLength()
    {
        var udp = Concat(Udp(1, 2, [1, 2]), [0, 0, 0]);
        var p = Parse(Ethernet(EtherType.IPv4, Ipv4(IpProtocol.Udp, A, B, udp)));
        p.Error.Should().Be(DropReason.None);
        p.PayloadLength.Should().Be(2);
    }

    // ---- ICMP ----

    [Fact]
    public void Parse_IcmpEcho_IdentifierIsSourcePort()
    {
        var p = Parse(Ethernet(EtherType.IPv4, Ipv4(IpProtocol.Icmp, A, B, Icmp(8, 0, id: 0x4242, sequence: 3, payload: new byte[8]))));
        p.Error.Should().Be(DropReason.None);
        (p.HasPorts, p.SrcPort, p.DstPort).Should().Be((true, (ushort)0x4242, (ushort)0x0800));
        (p.IcmpType, p.IcmpCode, p.IsIcmpError).Should().Be(((byte)8, (byte)0, false));
        p.PayloadLength.Should().Be(8);
    }

    [Fact]
    public void Parse_Icmpv6EchoReply_IdentifierIsSourcePort()
    {
        var p = Parse(Ethernet(EtherType.IPv6, Ipv6(IpProtocol.IcmpV6, A6, B6, Icmp(129, 0, id: 7))));
        (p.Error, p.SrcPort, p.DstPort).Should().Be((DropReason.None, (ushort)7, (ushort)(129 << 8)));
    }

    [Fact]
    public void Parse_IcmpTooShort_BadIcmpHeader()
    {
        Parse(Ethernet(EtherType.IPv4, Ipv4(IpProtocol.Icmp, A, B, [3, 1, 0]))).Error.Should().Be(DropReason.BadIcmpHeader);
        Parse(Ethernet(EtherType.IPv4, Ipv4(IpProtocol.Icmp, A, B, [8, 0, 0, 0, 0, 1]))).Error.Should().Be(DropReason.BadIcmpHeader,
            "an echo needs 8 bytes for its identifier");
    }

    [Fact]
    public void Parse_IcmpUnreachableQuotingUdp_InnerTuple()
    {
        var quoted = Ipv4(IpProtocol.Udp, B, "192.0.2.9", Udp(33000, 53, new byte[20]))[..28];
        var p = Parse(Ethernet(EtherType.IPv4, Ipv4(IpProtocol.Icmp, "192.0.2.9", B, Icmp(3, 3, payload: quoted))));
        p.Error.Should().Be(DropReason.None);
        p.IsIcmpError.Should().BeTrue();
        (p.SrcPort, p.DstPort).Should().Be(((ushort)0, (ushort)0x0303));
        p.InnerSrcIp.Should().Be(NetAddress.Parse(B));
        p.InnerDstIp.Should().Be(NetAddress.Parse("192.0.2.9"));
        (p.InnerProtocol, p.InnerSrcPort, p.InnerDstPort).Should().Be((IpProtocol.Udp, (ushort)33000, (ushort)53));
    }

    [Fact]
    public void Parse_IcmpTimeExceededQuotingIpHeaderOnly_ErrorWithoutInnerPorts()
    {
        var quoted = Ipv4(IpProtocol.Tcp, B, A, Tcp(1, 2))[..22];
        var p = Parse(Ethernet(EtherType.IPv4, Ipv4(IpProtocol.Icmp, A, B, Icmp(11, 0, payload: quoted))));
        (p.Error, p.IsIcmpError, p.InnerProtocol).Should().Be((DropReason.None, true, IpProtocol.Tcp));
        (p.InnerSrcPort, p.InnerDstPort).Should().Be(((ushort)0, (ushort)0));
    }

    [Fact]
    public void Parse_IcmpErrorQuotingTooLittle_PlainIcmp()
    {
        var p = Parse(Ethernet(EtherType.IPv4, Ipv4(IpProtocol.Icmp, A, B, Icmp(3, 1, payload: new byte[12]))));
        (p.Error, p.IsIcmpError, p.DstPort).Should().Be((DropReason.None, false, (ushort)0x0301));
    }

    [Fact]
    public void Parse_Icmpv6PacketTooBigQuotingTcpBehindExtension_InnerTuple()
    {
        var quoted = Ipv6(IpProtocol.DestinationOptions, A6, B6, Concat(Extension(IpProtocol.Tcp), Tcp(5555, 443)));
        var p = Parse(Ethernet(EtherType.IPv6, Ipv6(IpProtocol.IcmpV6, "2001:db8::fe", A6, Icmp(2, 0, payload: quoted))));
        p.Error.Should().Be(DropReason.None);
        p.IsIcmpError.Should().BeTrue();
        (p.SrcPort, p.DstPort).Should().Be(((ushort)0, (ushort)0x0200));
        (p.InnerSrcIp, p.InnerDstIp).Should().Be((NetAddress.Parse(A6), NetAddress.Parse(B6)));
        (p.InnerProtocol, p.InnerSrcPort, p.InnerDstPort).Should().Be((IpProtocol.Tcp, (ushort)5555, (ushort)443));
    }

    // ---- tunnels ----

    [Fact]
    public void Parse_Vxlan_OuterTupleAndInnerOffset()
    {
        var inner = TcpV4(1234, 22);
        var frame = Ethernet(EtherType.IPv4, Ipv4(IpProtocol.Udp, "192.0.2.10", "192.0.2.11", Udp(50000, PacketParser.VxlanPort, Vxlan(0xABCDEF, inner))));
        var p = Parse(frame);
        p.Error.Should().Be(DropReason.None);
        p.Tunnel.Should().Be(TunnelKind.Vxlan);
        p.Vni.Should().Be(0xABCDEFu);
        p.InnerEtherType.Should().Be(EtherType.TransparentEthernetBridging);
        (p.SrcIp, p.DstPort).Should().Be((NetAddress.Parse("192.0.2.10"), PacketParser.VxlanPort));
        p.InnerOffset.Should().Be(14 + 20 + 8 + 8);

        PacketParser.Parse(frame.AsSpan(p.InnerOffset), out var q);
        (q.Error, q.SrcIp, q.SrcPort, q.DstPort).Should().Be((DropReason.None, NetAddress.Parse(A), (ushort)1234, (ushort)22));
    }

    [Fact]
    public void Parse_VxlanWithoutIFlagOrShort_BadVxlanHeader()
    {
        Parse(Ethernet(EtherType.IPv4, Ipv4(IpProtocol.Udp, A, B, Udp(1, PacketParser.VxlanPort, Vxlan(5, TcpV4(), flags: 0x00)))))
            .Error.Should().Be(DropReason.BadVxlanHeader);
        Parse(Ethernet(EtherType.IPv4, Ipv4(IpProtocol.Udp, A, B, Udp(1, PacketParser.VxlanPort, [0x08, 0, 0, 0, 0]))))
            .Error.Should().Be(DropReason.BadVxlanHeader);
    }

    [Fact]
    public void Parse_GreWithKeyCarryingEthernet_TunnelVniIsKey()
    {
        var inner = TcpV4();
        var frame = Ethernet(EtherType.IPv4, Ipv4(IpProtocol.Gre, A, B, Gre(EtherType.TransparentEthernetBridging, inner, key: 300, checksum: true, sequence: true)));
        var p = Parse(frame);
        p.Error.Should().Be(DropReason.None);
        (p.Tunnel, p.Vni, p.Protocol, p.HasPorts).Should().Be((TunnelKind.Gre, 300u, IpProtocol.Gre, false));
        p.InnerOffset.Should().Be(14 + 20 + 16);
        p.InnerEtherType.Should().Be(EtherType.TransparentEthernetBridging);
        frame.AsSpan(p.InnerOffset).SequenceEqual(inner).Should().BeTrue();
    }

    [Fact]
    public void Parse_GreWithoutKeyCarryingIpv6_ParseL3OnInner()
    {
        var innerIp = Ipv6(IpProtocol.Udp, A6, B6, Udp(9, 10));
        var frame = Ethernet(EtherType.IPv4, Ipv4(IpProtocol.Gre, A, B, Gre(EtherType.IPv6, innerIp)));
        var p = Parse(frame);
        (p.Error, p.Tunnel, p.Vni, p.InnerEtherType).Should().Be((DropReason.None, TunnelKind.Gre, 0u, EtherType.IPv6));
        p.InnerOffset.Should().Be(14 + 20 + 4);

        PacketParser.ParseL3(frame.AsSpan(p.InnerOffset), p.InnerEtherType, out var q);
        (q.Error, q.L3Offset, q.L3, q.SrcPort, q.DstPort).Should().Be((DropReason.None, 0, L3Kind.IPv6, (ushort)9, (ushort)10));
        q.DstMac.Should().Be(default(MacAddress));
    }

    [Theory]
    [InlineData((ushort)0x0001)] // version 1 (PPTP)
    [InlineData((ushort)0x4000)] // routing present
    public void Parse_GreBadFlags_BadGreHeader(ushort extraFlags)
    {
        Parse(Ethernet(EtherType.IPv4, Ipv4(IpProtocol.Gre, A, B, Gre(EtherType.IPv4, Ipv4(IpProtocol.Udp, A, B, Udp(1, 2)), extraFlags: extraFlags))))
            .Error.Should().Be(DropReason.BadGreHeader);
    }

    [Fact]
    public void Parse_GreKeyBeyondPacket_BadGreHeader()
    {
        Parse(Ethernet(EtherType.IPv4, Ipv4(IpProtocol.Gre, A, B, Gre(EtherType.IPv4, [], key: 1)[..6]))).Error.Should().Be(DropReason.BadGreHeader);
        Parse(Ethernet(EtherType.IPv4, Ipv4(IpProtocol.Gre, A, B, [0, 0, 8]))).Error.Should().Be(DropReason.BadGreHeader);
    }

    [Fact]
    public void Parse_GreOtherPayload_NoTunnelNoError()
    {
        var p = Parse(Ethernet(EtherType.IPv4, Ipv4(IpProtocol.Gre, A, B, Gre(0x880B, new byte[10], key: 5))));
        (p.Error, p.Tunnel, p.Protocol, p.HasPorts).Should().Be((DropReason.None, TunnelKind.None, IpProtocol.Gre, false));
    }

    [Fact]
    public void Parse_VxlanInFirstFragment_NoTunnel()
    {
        var udp = Udp(1, PacketParser.VxlanPort, Vxlan(7, TcpV4()));
        var p = Parse(Ethernet(EtherType.IPv4, Ipv4(IpProtocol.Udp, A, B, udp[..40], moreFragments: true)));
        (p.Error, p.IsFragment, p.HasPorts, p.Tunnel).Should().Be((DropReason.None, true, true, TunnelKind.None),
            "a piece of a tunnel packet cannot be decapsulated before reassembly");
    }

    [Fact]
    public void Parse_ManyFramesOfEveryKind_AllocatesNothing()
    {
        var frames = new List<byte[]>();
        var rng = new Random(1);
        for (int i = 0; i < 200; i++)
            frames.Add(RandomFrames.Build(rng).Frame);
        for (int i = 0; i < 200; i++)
            frames.Add(RandomFrames.Mutate(rng, RandomFrames.Build(rng).Frame));
        var tracker = new FragmentTracker(64, TimeProvider.System.TimestampFrequency);
        var first = Parse(Ethernet(EtherType.IPv4, Ipv4(IpProtocol.Udp, A, B, Udp(1, 2, new byte[16]), id: 3, moreFragments: true)));
        var later = Parse(Ethernet(EtherType.IPv4, Ipv4(IpProtocol.Udp, A, B, new byte[8], id: 3, fragmentOffset: 24)));
        Run(); // JIT everything first

        long before = GC.GetAllocatedBytesForCurrentThread();
        int valid = Run();
        GC.GetAllocatedBytesForCurrentThread().Should().Be(before, "the packet path allocates nothing");
        valid.Should().BeGreaterThan(200);

        int Run()
        {
            int ok = 0;
            foreach (var f in frames)
            {
                PacketParser.Parse(f, out var p);
                if (p.IsValid)
                    ok++;
            }
            for (long t = 0; t < 100; t++)
            {
                tracker.RecordFirstFragment(first, t);
                var copy = later;
                if (tracker.TryResolve(ref copy, t))
                    ok++;
            }
            return ok;
        }
    }

    [Fact]
    public void ParseL3_OtherEtherType_Unsupported()
    {
        PacketParser.ParseL3(new byte[40], 0x8847, out var p);
        p.Error.Should().Be(DropReason.UnsupportedEtherType);
    }

    [Fact]
    public void ParseL3_Ipv4_OffsetsRelativeToSpan()
    {
        var ip = Ipv4(IpProtocol.Tcp, A, B, Tcp(10, 20));
        PacketParser.ParseL3(ip, EtherType.IPv4, out var p);
        (p.Error, p.L3Offset, p.L4Offset, p.L3End, p.SrcPort).Should().Be((DropReason.None, 0, 20, ip.Length, (ushort)10));
    }
}
