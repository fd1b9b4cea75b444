using Offload.Actions;
using Offload.Packets;
using Offload.Tests.TestSupport;
using PacketDotNet;

namespace Offload.Tests.Actions;

public class HeaderRewriteTests
{
    private static readonly MacAddress NewSrc = MacAddress.Parse("02:00:00:00:ff:fe");
    private static readonly MacAddress NewDst = MacAddress.Parse("02:00:00:01:00:03");

    [Fact]
    public void Apply_SetMacs_WritesBothAndLeavesTheRestAlone()
    {
        var frame = FrameBuilder.TcpFrame("10.1.0.1", 40000, "10.1.0.3", 80);
        var r = Exec.Run(Exec.Output(b => b.SetDestinationMac(NewDst).SetSourceMac(NewSrc)), default, frame);

        r.Outcome.Verdict.Should().Be(ActionVerdict.Output);
        MacAddress.Read(r.Bytes).Should().Be(NewDst);
        MacAddress.Read(r.Bytes.AsSpan(6)).Should().Be(NewSrc);
        r.Bytes.AsSpan(12).ToArray().Should().Equal(frame.AsSpan(12).ToArray());
        r.Packet.DstMac.Should().Be(NewDst);
        r.Packet.SrcMac.Should().Be(NewSrc);
    }

    [Fact]
    public void Apply_SetMacOnRuntFrame_DropsTruncatedEthernet()
    {
        var buffer = PacketBuffer.CopyOf(new byte[10]);
        var packet = default(ParsedPacket);
        var outcome = ActionExecutor.Apply(Exec.Output(b => b.SetSourceMac(NewSrc)), default, ref buffer, ref packet, 0, null, 0);
        outcome.Should().Be(ActionOutcome.Drop(DropReason.TruncatedEthernet));
    }

    [Fact]
    public void Apply_DecrementTtlIpv4_DecrementsAndKeepsHeaderChecksumValid()
    {
        var frame = FrameBuilder.TcpFrame("10.1.0.1", 40000, "10.2.0.3", 80, ttl: 64);
        var r = Exec.Run(Exec.Output(b => b.DecrementTtl()), default, frame);

        var ip = Packet.ParsePacket(LinkLayers.Ethernet, r.Bytes).Extract<IPv4Packet>();
        ip.TimeToLive.Should().Be(63);
        ip.ValidIPChecksum.Should().BeTrue();
        r.Packet.Ttl.Should().Be(63);
    }

    [Fact]
    public void Apply_DecrementHopLimitIpv6_Decrements()
    {
        var frame = FrameBuilder.TcpFrame("fd00:1::1", 40000, "fd00:2::3", 80, ttl: 2);
        var r = Exec.Run(Exec.Output(b => b.DecrementTtl()), default, frame);

        r.Outcome.Verdict.Should().Be(ActionVerdict.Output);
        Packet.ParsePacket(LinkLayers.Ethernet, r.Bytes).Extract<IPv6Packet>().HopLimit.Should().Be(1);
    }

    [Theory]
    [InlineData("10.1.0.1", "10.2.0.3", 1)]
    [InlineData("10.1.0.1", "10.2.0.3", 0)]
    [InlineData("fd00:1::1", "fd00:2::3", 1)]
    public void Apply_TtlOneOrZero_DropsTtlExceeded(string src, string dst, byte ttl)
    {
        var frame = FrameBuilder.TcpFrame(src, 40000, dst, 80, ttl: ttl);
        var r = Exec.Run(Exec.Output(b => b.DecrementTtl()), default, frame);
        r.Outcome.Should().Be(ActionOutcome.Drop(DropReason.TtlExceeded));
    }

    [Fact]
    public void Apply_DropProgram_ReturnsItsReasonAndLeavesFrame()
    {
        var frame = FrameBuilder.TcpFrame("10.1.0.1", 40000, "10.2.0.3", 80);
        var r = Exec.Run(ActionProgram.Drop(DropReason.Acl), default, frame);
        r.Outcome.Should().Be(ActionOutcome.Drop(DropReason.Acl));
        r.Bytes.Should().Equal(frame);
    }

    [Fact]
    public void Apply_RouteWithNatMacsAndTtl_AllRewritesLandTogether()
    {
        var frame = FrameBuilder.UdpFrame("10.1.0.1", 5000, "198.51.100.7", 53);
        var program = Exec.Output(b => b.DecrementTtl().ApplyNat().SetSourceMac(NewSrc).SetDestinationMac(NewDst), port: 9);
        var r = Exec.Run(program, NatRewrite.Source(NetAddress.Parse("203.0.113.5"), 30000), frame);

        r.Outcome.Should().Be(ActionOutcome.Output(9));
        var eth = (EthernetPacket)Packet.ParsePacket(LinkLayers.Ethernet, r.Bytes);
        var ip = eth.Extract<IPv4Packet>();
        var udp = eth.Extract<UdpPacket>();
        ip.TimeToLive.Should().Be(63);
        ip.ValidIPChecksum.Should().BeTrue();
        udp.SourcePort.Should().Be(30000);
        udp.ValidUdpChecksum.Should().BeTrue();
        eth.DestinationHardwareAddress.ToString().Should().Be("020000010003");
    }
}
