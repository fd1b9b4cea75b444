using Offload.Actions;
using Offload.Packets;

namespace Offload.Tests.Actions;

public class ActionProgramTests
{
    private static readonly MacAddress Mac = MacAddress.Parse("02:00:00:01:00:01");
    private static readonly EncapTemplate Vxlan = TunnelTests.Template(TunnelType.Vxlan, v6: false);

    [Fact]
    public void Build_OpsInAnyOrder_AreSortedCanonically()
    {
        var program = ActionProgram.CreateBuilder()
            .Output(3).Encapsulate(Vxlan).Meter(4).DecrementTtl().ApplyNat().SetDestinationMac(Mac).Decapsulate().Build();

        program.Ops.ToArray().Select(o => o.Kind).Should().Equal(
            HeaderOpKind.Decapsulate, HeaderOpKind.SetDestinationMac, HeaderOpKind.Nat, HeaderOpKind.DecrementTtl,
            HeaderOpKind.Meter, HeaderOpKind.Encapsulate);
        program.Verdict.Should().Be(ActionVerdict.Output);
        program.OutPort.Should().Be(3);
        program.DropReason.Should().Be(DropReason.None);
        program.UsesNat.Should().BeTrue();
        program.Encapsulation.Should().BeSameAs(Vxlan);
    }

    [Fact]
    public void ToString_GivesCompactFlowDumpForm()
    {
        var program = ActionProgram.CreateBuilder()
            .Encapsulate(Vxlan).DecrementTtl().ApplyNat().SetDestinationMac(Mac).Decapsulate().Meter(2).Output(3).Build();

        program.ToString().Should().Be(
            "decap,set_dst_mac(02:00:00:01:00:01),nat,ttl,meter(2),encap(vxlan vni=100 192.0.2.10->192.0.2.11),output:3");
        ActionProgram.Drop(DropReason.SecurityGroup).ToString().Should().Be("drop:security-group");
    }

    [Fact]
    public void Equals_SameOpsInOtherOrder_AreEqualWithEqualHash()
    {
        var a = ActionProgram.CreateBuilder().SetSourceMac(Mac).ApplyNat().Encapsulate(Vxlan).Output(1).Build();
        var b = ActionProgram.CreateBuilder().Encapsulate(TunnelTests.Template(TunnelType.Vxlan, v6: false)).ApplyNat().SetSourceMac(Mac).Output(1).Build();

        a.Should().Be(b);
        a.GetHashCode().Should().Be(b.GetHashCode());
        new FlowAction(a, NatRewrite.Source(NetAddress.Parse("203.0.113.5"), 7))
            .Should().Be(new FlowAction(b, NatRewrite.Source(NetAddress.Parse("203.0.113.5"), 7)));
    }

    [Fact]
    public void Equals_DifferentPortMacTemplateOrVerdict_AreNotEqual()
    {
        var baseProgram = ActionProgram.CreateBuilder().SetSourceMac(Mac).Output(1).Build();
        baseProgram.Should().NotBe(ActionProgram.CreateBuilder().SetSourceMac(Mac).Output(2).Build());
        baseProgram.Should().NotBe(ActionProgram.CreateBuilder().SetSourceMac(MacAddress.Broadcast).Output(1).Build());
        baseProgram.Should().NotBe(ActionProgram.CreateBuilder().SetDestinationMac(Mac).Output(1).Build());
        baseProgram.Should().NotBe(ActionProgram.CreateBuilder().SetSourceMac(Mac).Encapsulate(Vxlan).Output(1).Build());
        ActionProgram.Drop(DropReason.Acl).Should().NotBe(ActionProgram.Drop(DropReason.Policy));
        ActionProgram.Drop(DropReason.Acl).Should().Be(ActionProgram.Drop(DropReason.Acl));
    }

    [Fact]
    public void Programs_CanBeInternedInAHashSet()
    {
        var set = new HashSet<ActionProgram>();
        for (int i = 0; i < 100; i++)
            set.Add(ActionProgram.CreateBuilder().ApplyNat().Output((ushort)(i % 3)).Build());
        set.Should().HaveCount(3);
    }

    [Fact]
    public void Build_WithoutVerdict_Throws() =>
        FluentActions.Invoking(() => ActionProgram.CreateBuilder().ApplyNat().Build())
            .Should().Throw<InvalidOperationException>().WithMessage("*needs a verdict*");

    [Fact]
    public void Build_TwoVerdicts_Throws() =>
        FluentActions.Invoking(() => ActionProgram.CreateBuilder().Output(1).Drop(DropReason.Acl).Build())
            .Should().Throw<InvalidOperationException>().WithMessage("*exactly one verdict*");

    [Fact]
    public void Build_TwoEncaps_Throws() =>
        FluentActions.Invoking(() => ActionProgram.CreateBuilder().Encapsulate(Vxlan)
                .Encapsulate(TunnelTests.Template(TunnelType.Gre, v6: false)).Output(1).Build())
            .Should().Throw<InvalidOperationException>().WithMessage("*encap(gre*encap(vxlan*once*");

    [Fact]
    public void Build_SameMeterTwice_ThrowsButTwoMetersAreFine()
    {
        FluentActions.Invoking(() => ActionProgram.CreateBuilder().Meter(1).Meter(1).Output(1).Build())
            .Should().Throw<InvalidOperationException>().WithMessage("Meter 1*twice*");
        ActionProgram.CreateBuilder().Meter(2).Meter(1).Output(1).Build().Ops.ToArray().Select(o => o.MeterId)
            .Should().Equal(2, 1);
    }

    [Fact]
    public void Build_DropWithRewrites_Throws() =>
        FluentActions.Invoking(() => ActionProgram.CreateBuilder().ApplyNat().Drop(DropReason.Acl).Build())
            .Should().Throw<InvalidOperationException>().WithMessage("*drop program carries no header operations*");

    [Fact]
    public void Build_DropWithoutReason_Throws() =>
        FluentActions.Invoking(() => ActionProgram.Drop(DropReason.None))
            .Should().Throw<InvalidOperationException>().WithMessage("*reason*");

    [Fact]
    public void FlowAction_ToString_ShowsNatOfNatPrograms()
    {
        var program = ActionProgram.CreateBuilder().ApplyNat().Output(4).Build();
        new FlowAction(program, NatRewrite.Destination(NetAddress.Parse("10.1.0.3"), 8080)).ToString()
            .Should().Be("nat,output:4 [dnat 10.1.0.3:8080]");
    }
}
