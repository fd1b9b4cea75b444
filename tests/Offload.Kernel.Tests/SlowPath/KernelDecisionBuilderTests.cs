using Offload.Actions;
using Offload.Kernel.Conntrack;
using Offload.Kernel.SlowPath;
using Offload.Kernel.Tests.Nftables;
using Offload.Packets;
using Offload.Policy;
using Offload.Switching;

namespace Offload.Kernel.Tests.SlowPath;

/// <summary>Flows derived from kernel conntrack tuples and the demo topology (no kernel needed).</summary>
public sealed class KernelDecisionBuilderTests
{
    private static readonly MacAddress Gateway = MacAddress.Parse("02:00:00:00:ff:fe");
    private readonly PolicySnapshot _demo = PolicyFixtures.Demo();
    private readonly PortRegistry _ports = new();
    private readonly KernelDecisionBuilder _builder;

    public KernelDecisionBuilderTests() => _builder = new KernelDecisionBuilder(new CompiledPolicy(_demo, _ports));

    private static ConntrackTuple T(string src, ushort sport, string dst, ushort dport, byte protocol = IpProtocol.Tcp) =>
        new(NetAddress.Parse(src), NetAddress.Parse(dst), protocol, sport, dport);

    [Fact]
    public void TryBuild_LocalToLocal_KeysCarryPortsAndVniAndActionsRouteWithTtl()
    {
        _builder.TryBuild(T("10.1.0.1", 1000, "10.1.0.2", 80), T("10.1.0.2", 80, "10.1.0.1", 1000), out KernelConnectionFlows flows).Should().BeTrue();

        ushort vm1 = _ports.GetOrAdd("vm1"), vm2 = _ports.GetOrAdd("vm2");
        (flows.OriginalKey.InPort, flows.OriginalKey.Vni, flows.ReplyKey.InPort, flows.ReplyKey.Vni).Should().Be((vm1, 100u, vm2, 100u));
        flows.Original.Program.Ops.ToArray().Select(o => o.Kind).Should().Equal(HeaderOpKind.SetSourceMac, HeaderOpKind.SetDestinationMac, HeaderOpKind.DecrementTtl);
        flows.Original.Program.OutPort.Should().Be(vm2);
        flows.Reply.Program.OutPort.Should().Be(vm1);
        flows.Original.Nat.IsNone.Should().BeTrue();
    }

    [Fact]
    public void TryBuild_VipDnat_ForwardDnatsToBackendAndReplySnatsBackToVip()
    {
        _builder.TryBuild(T("10.1.0.1", 1000, "10.1.255.10", 80), T("10.1.0.2", 8080, "10.1.0.1", 1000), out KernelConnectionFlows flows).Should().BeTrue();

        flows.Original.Nat.Should().Be(NatRewrite.Destination(NetAddress.Parse("10.1.0.2"), 8080));
        flows.Reply.Nat.Should().Be(NatRewrite.Source(NetAddress.Parse("10.1.255.10"), 80));
        (flows.ReplyKey.SrcIp, flows.ReplyKey.SrcPort).Should().Be((NetAddress.Parse("10.1.0.2"), (ushort)8080));
    }

    [Fact]
    public void TryBuild_Snat_ForwardOutOfUplinkFromUnderlayMacAndReplyFromPublicNetworkWithVniZero()
    {
        _builder.TryBuild(T("10.1.0.1", 1000, "198.51.100.7", 443), T("198.51.100.7", 443, "203.0.113.5", 2000), out KernelConnectionFlows flows).Should().BeTrue();

        flows.Original.Nat.Should().Be(NatRewrite.Source(NetAddress.Parse("203.0.113.5"), 2000));
        flows.Reply.Nat.Should().Be(NatRewrite.Destination(NetAddress.Parse("10.1.0.1"), 1000));
        flows.Original.Program.OutPort.Should().Be(PortRegistry.Uplink);
        flows.Original.Program.Ops[0].Mac.Should().Be(_demo.Host.Underlay.Mac);
        (flows.ReplyKey.InPort, flows.ReplyKey.Vni).Should().Be((PortRegistry.Uplink, 0u));
    }

    [Fact]
    public void TryBuild_IcmpEchoSnat_IdentifierIsTheNatPort()
    {
        ConntrackTuple original = ConntrackTuple.Icmp(NetAddress.Parse("10.1.0.1"), NetAddress.Parse("198.51.100.7"), 7, 8, 0);
        ConntrackTuple reply = ConntrackTuple.Icmp(NetAddress.Parse("198.51.100.7"), NetAddress.Parse("203.0.113.5"), 9, 0, 0);

        _builder.TryBuild(original, reply, out KernelConnectionFlows flows).Should().BeTrue();

        flows.Original.Nat.Should().Be(NatRewrite.Source(NetAddress.Parse("203.0.113.5"), 9));
        flows.Reply.Nat.Should().Be(NatRewrite.Destination(NetAddress.Parse("10.1.0.1"), 7));
    }

    [Fact]
    public void TryBuild_RemoteToLocal_ForwardDecapsulatesAndReplyEncapsulatesToSendersHost()
    {
        _builder.TryBuild(T("10.1.0.3", 1000, "10.1.0.2", 80), T("10.1.0.2", 80, "10.1.0.3", 1000), out KernelConnectionFlows flows).Should().BeTrue();

        (flows.OriginalKey.InPort, flows.OriginalKey.Vni).Should().Be((PortRegistry.Uplink, 100u));
        flows.Original.Program.Ops[0].Kind.Should().Be(HeaderOpKind.Decapsulate);
        EncapTemplate encap = flows.Reply.Program.Ops.ToArray().Single(o => o.Kind == HeaderOpKind.Encapsulate).Template!;
        (encap.Type, encap.Vni, encap.OuterDestinationIp).Should().Be((TunnelType.Vxlan, 100u, NetAddress.Parse("192.0.2.11")));
        flows.Reply.Program.OutPort.Should().Be(PortRegistry.Uplink);
    }

    [Fact]
    public void TryBuild_QosPort_ChargesItsMeterOnItsOwnDirectionOnly()
    {
        _builder.TryBuild(T("10.2.0.4", 1000, "10.1.0.2", 80), T("10.1.0.2", 80, "10.2.0.4", 1000), out KernelConnectionFlows flows).Should().BeTrue();

        flows.Original.Program.Ops.ToArray().Should().Contain(o => o.Kind == HeaderOpKind.Meter && o.MeterId == _ports.GetOrAdd("vm4"));
        flows.Reply.Program.Ops.ToArray().Should().NotContain(o => o.Kind == HeaderOpKind.Meter);
    }

    [Theory]
    [InlineData("10.1.0.3", "10.2.0.5", "10.2.0.5")] // both ends on host-b
    [InlineData("198.51.100.7", "10.1.0.1", "10.1.0.1")] // started from the public network
    public void TryBuild_NotThisHostsConnection_False(string src, string dst, string replySrc)
    {
        _builder.TryBuild(T(src, 1000, dst, 80), T(replySrc, 80, src, 1000), out _).Should().BeFalse();
        _builder.TryResolveKey(T(src, 1000, dst, 80), T(replySrc, 80, src, 1000), out _).Should().BeFalse();
    }

    [Fact]
    public void TryBuild_SourceAndDestinationBothTranslated_FalseAsNotOneRewritePerDirection()
    {
        _builder.TryBuild(T("10.1.0.1", 1000, "10.1.255.10", 80), T("10.1.0.2", 8080, "203.0.113.5", 2000), out _).Should().BeFalse();
    }
}
