using CsCheck;
using Offload.Flows;
using Offload.Kernel.Conntrack;
using Offload.Packets;

namespace Offload.Kernel.Tests.Conntrack;

public sealed class ConntrackTupleTests
{
    [Fact]
    public void ToFlowKey_TcpTuple_CarriesTupleAndCallerPortAndVni()
    {
        var t = new ConntrackTuple(NetAddress.Parse("10.9.0.1"), NetAddress.Parse("10.9.0.2"), IpProtocol.Tcp, 40000, 80);

        FlowKey key = t.ToFlowKey(inPort: 3, vni: 5001);

        key.SrcIp.Should().Be(t.Source);
        key.DstIp.Should().Be(t.Destination);
        key.SrcPort.Should().Be(40000);
        key.DstPort.Should().Be(80);
        key.Protocol.Should().Be(IpProtocol.Tcp);
        key.InPort.Should().Be(3);
        key.Vni.Should().Be(5001u);
    }

    [Fact]
    public void Icmp_EchoRequest_UsesParsedPacketConvention()
    {
        ConntrackTuple t = ConntrackTuple.Icmp(NetAddress.Parse("10.9.0.1"), NetAddress.Parse("10.9.0.2"), 77, 8, 0);

        t.Protocol.Should().Be(IpProtocol.Icmp);
        t.SourcePort.Should().Be(77);
        t.DestinationPort.Should().Be(8 << 8);
        t.IcmpType.Should().Be(8);
        t.IcmpCode.Should().Be(0);
        ConntrackTuple.Icmp(NetAddress.Parse("fd00::1"), NetAddress.Parse("fd00::2"), 1, 128, 0).Protocol.Should().Be(IpProtocol.IcmpV6);
    }

    [Fact]
    public void FromFlowKey_RoundTrip_Equal()
    {
        Gen.Select(Gen.UInt, Gen.UInt, Gen.UShort, Gen.UShort, Gen.Byte).Sample((s, d, sp, dp, p) =>
        {
            var t = new ConntrackTuple(NetAddress.FromV4(s), NetAddress.FromV4(d), p, sp, dp);
            ConntrackTuple.FromFlowKey(t.ToFlowKey(1, 2)).Should().Be(t);
        });
    }
}
