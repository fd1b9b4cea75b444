using Offload.Datapath;
using Offload.Switching;
using Offload.Tests.Datapath;
using static Offload.Tests.Switching.SwitchTestBed;

namespace Offload.Tests.Switching;

public class VirtualSwitchPreviewTests
{
    // vm1 -> vm2:80 is denied, vm3 (another host) moves to a new MAC: one connection removed, one updated.
    private static readonly string Changed = PolicyYaml
        .Replace("dstPorts: \"22\" }", "dstPorts: \"22\" }\n    - { priority: 200, action: deny, direction: egress, network: blue, dst: 10.1.0.2/32, protocol: tcp, dstPorts: \"80\" }")
        .Replace("02:00:00:01:00:03", "02:00:00:01:00:33");

    // Four connections (to vm2:80, vm2:443, vm3:80 on host-b, and the public network through SNAT) and one cached drop (ssh).
    private static SwitchTestBed WithTraffic()
    {
        var bed = new SwitchTestBed();
        bed.From("vm1", TestFrames.Tcp("10.1.0.1", 45000, "10.1.0.2", 80, syn: true, srcMac: Vm1));
        bed.From("vm2", TestFrames.Tcp("10.1.0.2", 80, "10.1.0.1", 45000, syn: true, ack: true, srcMac: Vm2));
        bed.From("vm1", TestFrames.Tcp("10.1.0.1", 45001, "10.1.0.2", 443, syn: true, srcMac: Vm1));
        bed.From("vm1", TestFrames.Tcp("10.1.0.1", 45002, "10.1.0.3", 80, syn: true, srcMac: Vm1));
        bed.From("vm1", TestFrames.Udp("10.1.0.1", 46000, "198.51.100.7", 53, srcMac: Vm1));
        bed.From("vm1", TestFrames.Tcp("10.1.0.1", 45003, "10.1.0.2", 22, syn: true, srcMac: Vm1)).Result.Reason.Should().Be(DropReason.Acl);
        bed.Switch.Poll();
        return bed;
    }

    [Fact]
    public void PreviewPolicy_DenyAndMove_CountsEqualWhatApplyPolicyThenDoes()
    {
        using var bed = WithTraffic();
        var next = Load(Changed);

        var preview = bed.Switch.PreviewPolicy(next);
        var applied = bed.Switch.ApplyPolicy(next);

        preview.Checked.Should().Be(4);
        preview.Unchanged.Should().Be(2);
        preview.Updated.Should().Be(1);
        preview.Removed.Should().Be(1);
        preview.DropFlowsRemoved.Should().Be(1);
        preview.IsNoOp.Should().BeFalse();
        (preview.Checked, preview.Updated, preview.Removed, preview.DropFlowsRemoved)
            .Should().Be((applied.Checked, applied.Updated, applied.Removed, applied.DropFlowsRemoved));
    }

    [Fact]
    public void PreviewPolicy_AffectedConnections_CarryKeysAndOldAndNewVerdicts()
    {
        using var bed = WithTraffic();

        var preview = bed.Switch.PreviewPolicy(Load(Changed));

        preview.Samples.Should().HaveCount(2);
        var removed = preview.Samples.Single(s => s.Change == PolicyPreviewChange.Removed);
        removed.Original.DstIp.Should().Be(Offload.Packets.NetAddress.Parse("10.1.0.2"));
        removed.Original.DstPort.Should().Be(80);
        removed.Reply.SrcPort.Should().Be(80);
        removed.State.Should().Be(Offload.Conntrack.ConnState.SynRecv);
        removed.Before.Allowed.Should().BeTrue();
        removed.Before.OutPort.Should().Be("vm2");
        removed.After.Allowed.Should().BeFalse();
        removed.After.Reason.Should().Be(DropReason.Acl);
        removed.After.ToString().Should().Be("drop: acl");

        var updated = preview.Samples.Single(s => s.Change == PolicyPreviewChange.Updated);
        updated.Original.DstIp.Should().Be(Offload.Packets.NetAddress.Parse("10.1.0.3"));
        updated.Before.OutPort.Should().Be("uplink");
        updated.After.OutPort.Should().Be("uplink");
        updated.Before.Original.Should().NotBe(updated.After.Original);
        updated.After.Original.ToString().Should().Contain("02:00:00:01:00:33");
        updated.Before.Original.ToString().Should().Contain("02:00:00:01:00:03");
    }

    [Fact]
    public void PreviewPolicy_ChangesNothing()
    {
        using var bed = WithTraffic();
        var policy = bed.Switch.Policy;
        int flows = bed.Switch.Backend.Count;
        int connections = bed.Switch.Conntrack.Count;
        // A new local port would be numbered by a real apply.
        var withNewPort = Changed.Replace("  - { name: vm6,", "  - { name: vm7, network: green, mac: \"02:00:00:03:00:07\", ip: 10.3.0.7, host: host-a }\n  - { name: vm6,");

        var preview = bed.Switch.PreviewPolicy(Load(withNewPort));

        preview.Removed.Should().Be(1);
        bed.Switch.Policy.Should().BeSameAs(policy);
        bed.Switch.Backend.Count.Should().Be(flows);
        bed.Switch.Conntrack.Count.Should().Be(connections);
        bed.Switch.Ports.TryGet("vm7", out _).Should().BeFalse("a preview does not number ports");
        var r = bed.From("vm1", TestFrames.Tcp("10.1.0.1", 45000, "10.1.0.2", 80, ack: true, srcMac: Vm1));
        r.Result.Path.Should().Be(PacketPath.Fast, "the connection the preview would remove still runs on its flow");
        r.Result.Verdict.Should().Be(Offload.Actions.ActionVerdict.Output);
    }

    [Fact]
    public void PreviewPolicy_SamePolicy_IsNoOpLikeApply()
    {
        using var bed = WithTraffic();

        var preview = bed.Switch.PreviewPolicy(Load(PolicyYaml));
        var applied = bed.Switch.ApplyPolicy(Load(PolicyYaml));

        preview.IsNoOp.Should().BeTrue();
        preview.Unchanged.Should().Be(4);
        preview.Samples.Should().BeEmpty();
        (applied.Updated, applied.Removed).Should().Be((0, 0));
    }

    [Fact]
    public void PreviewPolicy_MaxSamples_LimitsSamplesNotCounts()
    {
        using var bed = WithTraffic();
        // Tenant isolation everywhere: every connection of vm1 loses its port.
        var vm1Gone = PolicyYaml.Replace("  - { name: vm1, network: blue, mac: \"02:00:00:01:00:01\", ip: 10.1.0.1, host: host-a }\n", "");

        var preview = bed.Switch.PreviewPolicy(Load(vm1Gone), maxSamples: 1);
        var applied = bed.Switch.ApplyPolicy(Load(vm1Gone));

        preview.Removed.Should().Be(4);
        preview.Samples.Should().ContainSingle().Which.After.Reason.Should().Be(DropReason.UnknownPort);
        applied.Removed.Should().Be(preview.Removed);
    }

    public static TheoryData<string> Changes() =>
    [
        "backends: [ { ip: 10.1.0.2, port: 80 }, { ip: 10.1.0.3, port: 80 } ]=>backends: [ { ip: 10.1.0.2, port: 80 } ]",
        "snat:\n  - { network: blue, publicIp: 203.0.113.5, ports: \"1024-65535\" }\n=>",
        "peerings: [ [blue, red] ]=>peerings: []",
        "dstPorts: \"80,443\"=>dstPorts: \"443\"",
        "gatewayMac: \"02:00:00:00:ff:fe\"=>gatewayMac: \"02:00:00:00:ff:fd\"",
        "mode: deny-list=>mode: allow-list",
        "{ name: blue, vni: 100, cidr: 10.1.0.0/16, tunnel: vxlan }=>{ name: blue, vni: 100, cidr: 10.1.0.0/16, tunnel: gre }",
        "{ name: host-b, underlay: { ip: 192.0.2.11=>{ name: host-b, underlay: { ip: 192.0.2.12",
        "ports: \"1024-65535\"=>ports: \"2000-3000\"",
        "rateMbps: 1, burstKb: 4=>rateMbps: 2, burstKb: 8",
    ];

    [Theory]
    [MemberData(nameof(Changes))]
    public void PreviewPolicy_PolicyEdit_PredictsExactlyWhatApplyPolicyDoes(string edit)
    {
        using var bed = WithTraffic();
        // More kinds of connection: through the load balancer (several, to reach both backends), to a peered network, from red to another host.
        for (ushort p = 47000; p < 47006; p++)
            bed.From("vm1", TestFrames.Tcp("10.1.0.1", p, "10.1.255.10", 80, syn: true, srcMac: Vm1));
        bed.From("vm1", TestFrames.Udp("10.1.0.1", 48000, "10.2.0.5", 53, srcMac: Vm1));
        bed.From("vm5", TestFrames.Udp("10.2.0.5", 48001, "10.2.0.4", 53, srcMac: Vm5));
        bed.Switch.Poll();
        string[] parts = edit.Split("=>");
        PolicyYaml.Should().Contain(parts[0]);
        var next = Load(PolicyYaml.Replace(parts[0], parts[1]));
        var before = bed.Switch.Conntrack.Snapshot().Select(c => c.Original).ToHashSet();

        var preview = bed.Switch.PreviewPolicy(next, maxSamples: int.MaxValue);
        var applied = bed.Switch.ApplyPolicy(next);

        (preview.Checked, preview.Updated, preview.Removed, preview.DropFlowsRemoved)
            .Should().Be((applied.Checked, applied.Updated, applied.Removed, applied.DropFlowsRemoved));
        preview.Unchanged.Should().Be(preview.Checked - preview.Updated - preview.Removed);
        var removed = preview.Samples.Where(s => s.Change == PolicyPreviewChange.Removed).Select(s => s.Original).ToHashSet();
        var after = bed.Switch.Conntrack.Snapshot().Select(c => c.Original).ToHashSet();
        after.Should().BeEquivalentTo(before.Where(k => !removed.Contains(k)), "exactly the connections the preview named as removed are gone");
    }
}
