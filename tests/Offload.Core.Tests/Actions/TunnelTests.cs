using System.Buffers.Binary;
using System.Net;
using Offload.Actions;
using Offload.Packets;
using Offload.Tests.TestSupport;
using PacketDotNet;

namespace Offload.Tests.Actions;

public class TunnelTests
{
    private static readonly MacAddress UplinkMac = MacAddress.Parse("02:00:00:00:0a:01");
    private static readonly MacAddress RemoteMac = MacAddress.Parse("02:00:00:00:0b:01");
    private static readonly MacAddress VmMac = MacAddress.Parse("02:00:00:01:00:01");

    internal static EncapTemplate Template(TunnelType type, bool v6, uint vni = 100) => new(type, vni, UplinkMac, RemoteMac,
        NetAddress.Parse(v6 ? "2001:db8:a::10" : "192.0.2.10"), NetAddress.Parse(v6 ? "2001:db8:a::11" : "192.0.2.11"));

    private static Exec.Result Encap(EncapTemplate template, byte[] inner) =>
        Exec.Run(Exec.Output(b => b.Encapsulate(template), port: 7), default, inner);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Apply_VxlanEncap_WritesDecodableOuterHeaders(bool v6)
    {
        var inner = FrameBuilder.TcpFrame("10.1.0.1", 40000, "10.1.0.3", 80);
        var r = Encap(Template(TunnelType.Vxlan, v6), inner);

        r.Outcome.Should().Be(ActionOutcome.Output(7, v6 ? 70 : 50));
        var bytes = r.Bytes;
        bytes.Length.Should().Be(inner.Length + (v6 ? 70 : 50));
        var eth = (EthernetPacket)Packet.ParsePacket(LinkLayers.Ethernet, bytes);
        eth.DestinationHardwareAddress.ToString().Should().Be("020000000B01");
        eth.SourceHardwareAddress.ToString().Should().Be("020000000A01");
        var udp = eth.Extract<UdpPacket>();
        udp.DestinationPort.Should().Be(4789);
        udp.SourcePort.Should().BeInRange((ushort)49152, (ushort)65535);
        udp.Length.Should().Be(8 + 8 + inner.Length);
        if (v6)
        {
            var ip = eth.Extract<IPv6Packet>();
            ip.SourceAddress.Should().Be(IPAddress.Parse("2001:db8:a::10"));
            ip.DestinationAddress.Should().Be(IPAddress.Parse("2001:db8:a::11"));
            ip.PayloadLength.Should().Be((ushort)(16 + inner.Length));
            ip.HopLimit.Should().Be(64);
            udp.Checksum.Should().NotBe(0);
            udp.ValidUdpChecksum.Should().BeTrue();
        }
        else
        {
            var ip = eth.Extract<IPv4Packet>();
            ip.SourceAddress.Should().Be(IPAddress.Parse("192.0.2.10"));
            ip.DestinationAddress.Should().Be(IPAddress.Parse("192.0.2.11"));
            ip.TotalLength.Should().Be(bytes.Length - 14);
            ip.TimeToLive.Should().Be(64);
            ip.ValidIPChecksum.Should().BeTrue();
            FrameBuilder.ReferenceSum(bytes.AsSpan(14, 20)).Should().Be(0xFFFF);
            udp.Checksum.Should().Be(0, "RFC 7348 allows a zero outer UDP checksum over IPv4");
        }
        var vxlan = eth.Extract<VxlanPacket>();
        vxlan.Should().NotBeNull("PacketDotNet decodes UDP 4789 as VXLAN");
        vxlan.Vni.Should().Be(100u);
        bytes.AsSpan(bytes.Length - inner.Length).ToArray().Should().Equal(inner);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Apply_GreEncap_WritesKeyedTebHeader(bool v6)
    {
        var inner = FrameBuilder.UdpFrame("10.2.0.1", 5000, "10.2.0.9", 53);
        var r = Encap(Template(TunnelType.Gre, v6, vni: 200), inner);

        int n = v6 ? 62 : 42;
        r.Outcome.Should().Be(ActionOutcome.Output(7, n));
        var bytes = r.Bytes;
        var eth = (EthernetPacket)Packet.ParsePacket(LinkLayers.Ethernet, bytes);
        var ip = eth.Extract<IPPacket>();
        ip.Protocol.Should().Be(ProtocolType.Gre);
        if (v6)
        {
            ((IPv6Packet)ip).PayloadLength.Should().Be((ushort)(8 + inner.Length));
        }
        else
        {
            ((IPv4Packet)ip).TotalLength.Should().Be(20 + 8 + inner.Length);
            ((IPv4Packet)ip).ValidIPChecksum.Should().BeTrue();
        }
        var gre = eth.Extract<GrePacket>();
        gre.HasKey.Should().BeTrue();
        gre.HasCheckSum.Should().BeFalse();
        ((ushort)gre.Protocol).Should().Be(EtherType.TransparentEthernetBridging);
        int g = n - 8;
        BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(g + 4)).Should().Be(200u, "the GRE key is the VNI");
        bytes.AsSpan(n).ToArray().Should().Equal(inner);
    }

    [Fact]
    public void Apply_EncapWithoutHeadroom_DropsNoHeadroom()
    {
        var inner = FrameBuilder.TcpFrame("10.1.0.1", 40000, "10.1.0.3", 80);
        var r = Exec.Run(Exec.Output(b => b.Encapsulate(Template(TunnelType.Vxlan, v6: false))), default, inner, headroom: 49);

        r.Outcome.Should().Be(ActionOutcome.Drop(DropReason.NoHeadroom));
        r.Bytes.Should().Equal(inner);
    }

    [Fact]
    public void Apply_EncapBothDirectionsOfAFlow_UseTheSameSourcePort()
    {
        var template = Template(TunnelType.Vxlan, v6: false);
        var a = Encap(template, FrameBuilder.TcpFrame("10.1.0.1", 40000, "10.1.0.3", 80)).Bytes;
        var b = Encap(template, FrameBuilder.TcpFrame("10.1.0.3", 80, "10.1.0.1", 40000)).Bytes;
        var c = Encap(template, FrameBuilder.TcpFrame("10.1.0.1", 40001, "10.1.0.3", 80)).Bytes;
        ushort Port(byte[] f) => BinaryPrimitives.ReadUInt16BigEndian(f.AsSpan(34));

        Port(a).Should().Be(Port(b));
        Port(a).Should().NotBe(Port(c), "another connection hashes elsewhere (true for these two tuples)");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Apply_DecapVxlan_LeavesInnerFrameWithNewMac(bool v6)
    {
        var inner = FrameBuilder.TcpFrame("10.1.0.3", 80, "10.1.0.1", 40000);
        var frame = FrameBuilder.Vxlan(v6 ? "2001:db8:a::11" : "192.0.2.11", v6 ? "2001:db8:a::10" : "192.0.2.10", 100, inner);

        var r = Exec.RunTunnel(Exec.Output(b => b.Decapsulate().SetDestinationMac(VmMac), port: 1), default, frame);

        r.Outcome.Should().Be(ActionOutcome.Output(1));
        var expected = (byte[])inner.Clone();
        VmMac.WriteTo(expected);
        r.Bytes.Should().Equal(expected);
        r.Packet.L3Offset.Should().Be(14);
        r.Packet.DstMac.Should().Be(VmMac);
    }

    [Fact]
    public void Apply_DecapGreTeb_LeavesInnerFrame()
    {
        var inner = FrameBuilder.UdpFrame("10.2.0.3", 53, "10.2.0.1", 5000);
        var frame = FrameBuilder.Gre("192.0.2.11", "192.0.2.10", 200, EtherType.TransparentEthernetBridging, inner);

        var r = Exec.RunTunnel(Exec.Output(b => b.Decapsulate()), default, frame);

        r.Outcome.Verdict.Should().Be(ActionVerdict.Output);
        r.Bytes.Should().Equal(inner);
    }

    [Theory]
    [InlineData("10.2.0.3", "10.2.0.1")]
    [InlineData("fd00:2::3", "fd00:2::1")]
    public void Apply_DecapGreCarryingIp_SynthesisesEthernetHeader(string src, string dst)
    {
        var s = NetAddress.Parse(src);
        var d = NetAddress.Parse(dst);
        var innerIp = FrameBuilder.Ip(s, d, 6, FrameBuilder.Tcp(s, d, 443, 50000, FrameBuilder.Payload(10)));
        ushort etherType = s.IsV4 ? EtherType.IPv4 : EtherType.IPv6;
        var frame = FrameBuilder.Gre("192.0.2.11", "192.0.2.10", 200, etherType, innerIp);

        var r = Exec.RunTunnel(Exec.Output(b => b.Decapsulate().SetDestinationMac(VmMac).SetSourceMac(UplinkMac)), default, frame);

        r.Outcome.Verdict.Should().Be(ActionVerdict.Output);
        r.Bytes.Should().Equal(FrameBuilder.Ethernet(VmMac, UplinkMac, etherType, innerIp));
        r.Packet.L3Offset.Should().Be(14);
        r.Packet.L4Offset.Should().Be(14 + (s.IsV4 ? 20 : 40));
        r.Packet.EtherType.Should().Be(etherType);
        // The updated parse still addresses the right bytes: a later rewrite through it lands correctly.
        (s.IsV4 ? NetAddress.FromV4Bytes(r.Bytes.AsSpan(r.Packet.L3Offset + 12)) : NetAddress.FromV6Bytes(r.Bytes.AsSpan(r.Packet.L3Offset + 8)))
            .Should().Be(s);
        BinaryPrimitives.ReadUInt16BigEndian(r.Bytes.AsSpan(r.Packet.L4Offset)).Should().Be(443);
    }

    [Fact]
    public void Apply_MacOpOnGreIpPayloadWithoutDecap_DropsInsteadOfCorruptingTheIpHeader()
    {
        var s = NetAddress.Parse("10.2.0.3");
        var d = NetAddress.Parse("10.2.0.1");
        var frame = FrameBuilder.Gre("192.0.2.11", "192.0.2.10", 200, EtherType.IPv4,
            FrameBuilder.Ip(s, d, 6, FrameBuilder.Tcp(s, d, 443, 50000, default)));
        var r = Exec.RunTunnel(Exec.Output(b => b.SetDestinationMac(VmMac)), default, frame);
        r.Outcome.Should().Be(ActionOutcome.Drop(DropReason.TruncatedEthernet));
    }

    [Fact]
    public void Apply_DecapOfPlainFrame_DropsActionMismatch()
    {
        var frame = FrameBuilder.TcpFrame("10.1.0.1", 40000, "10.1.0.3", 80);
        var r = Exec.Run(Exec.Output(b => b.Decapsulate()), default, frame);
        r.Outcome.Should().Be(ActionOutcome.Drop(DropReason.ActionMismatch));
    }

    [Theory]
    [InlineData(TunnelType.Vxlan, false)]
    [InlineData(TunnelType.Vxlan, true)]
    [InlineData(TunnelType.Gre, false)]
    [InlineData(TunnelType.Gre, true)]
    public void Apply_EncapThenDecap_GivesTheOriginalFrame(TunnelType type, bool v6)
    {
        var original = FrameBuilder.UdpFrame("10.1.0.1", 5000, "10.1.0.3", 53, payloadLength: 101);
        var encapsulated = Encap(Template(type, v6), original).Bytes;

        var r = Exec.RunTunnel(Exec.Output(b => b.Decapsulate()), default, encapsulated);

        r.Bytes.Should().Equal(original);
    }

    [Fact]
    public void Apply_DecapRewriteReEncap_MovesFrameToAnotherTunnel()
    {
        var inner = FrameBuilder.TcpFrame("10.1.0.3", 80, "10.2.0.1", 40000);
        var frame = FrameBuilder.Vxlan("192.0.2.11", "192.0.2.10", 100, inner);
        var program = Exec.Output(b => b.Encapsulate(Template(TunnelType.Gre, v6: false, vni: 200)).Decapsulate().SetDestinationMac(VmMac).DecrementTtl());

        var r = Exec.RunTunnel(program, default, frame);

        r.Outcome.Should().Be(ActionOutcome.Output(1, 42));
        var (outer, innerParse) = TestParse.Tunnel(r.Bytes);
        outer.Vni.Should().Be(200u);
        innerParse.Ttl.Should().Be(63);
        innerParse.DstMac.Should().Be(VmMac);
        r.Packet.Ttl.Should().Be(63);
    }

    [Fact]
    public void Template_InvalidArguments_Throw()
    {
        var v4 = NetAddress.Parse("192.0.2.10");
        var v6 = NetAddress.Parse("2001:db8::1");
        FluentActions.Invoking(() => new EncapTemplate(TunnelType.Vxlan, 0x1000000, UplinkMac, RemoteMac, v4, v4))
            .Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => new EncapTemplate(TunnelType.Vxlan, 1, UplinkMac, RemoteMac, v4, v6))
            .Should().Throw<ArgumentException>().WithMessage("*one family*");
        FluentActions.Invoking(() => new EncapTemplate(TunnelType.Gre, 1, UplinkMac, RemoteMac, NetAddress.None, v4))
            .Should().Throw<ArgumentException>();
    }

    [Fact]
    public void Template_EqualFields_AreEqualWithEqualHash()
    {
        var a = Template(TunnelType.Vxlan, v6: false);
        var b = Template(TunnelType.Vxlan, v6: false);
        a.Should().Be(b);
        a.GetHashCode().Should().Be(b.GetHashCode());
        a.Should().NotBe(Template(TunnelType.Vxlan, v6: false, vni: 101));
        a.Should().NotBe(Template(TunnelType.Gre, v6: false));
        a.ToString().Should().Be("vxlan vni=100 192.0.2.10->192.0.2.11");
        a.HeaderLength.Should().Be(50);
    }
}
