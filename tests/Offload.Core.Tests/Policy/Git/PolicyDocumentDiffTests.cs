using Offload.Policy.Git;
using Offload.Tests.Switching;
using static Offload.Tests.Switching.SwitchTestBed;

namespace Offload.Tests.Policy.Git;

public class PolicyDocumentDiffTests
{
    [Fact]
    public void Compare_SameContentDifferentStyle_NoChanges()
    {
        var restyled = "# reformatted\n" + PolicyYaml.Replace("{ name: blue, vni: 100, cidr: 10.1.0.0/16, tunnel: vxlan }", "{ vni: 100, name: blue, cidr: 10.1.0.0/16 }");

        PolicyDocumentDiff.Compare(Load(PolicyYaml), Load(restyled)).Should().BeEmpty();
    }

    [Fact]
    public void Compare_ChangedValue_NamesItemByNameWithOldAndNew()
    {
        var changes = PolicyDocumentDiff.Compare(Load(PolicyYaml), Load(PolicyYaml.Replace("02:00:00:01:00:02", "02:00:00:01:00:22")));

        changes.Should().ContainSingle().Which.Should().Be(new PolicyDocumentChange("ports[vm2].mac", "\"02:00:00:01:00:02\"", "\"02:00:00:01:00:22\""));
        changes[0].ToString().Should().Be("~ ports[vm2].mac: \"02:00:00:01:00:02\" -> \"02:00:00:01:00:22\"");
    }

    [Fact]
    public void Compare_AddedAndRemovedNamedItems_ReportedWhole()
    {
        var edited = PolicyYaml
            .Replace("  - { name: vm6, network: green, mac: \"02:00:00:03:00:06\", ip: 10.3.0.6, host: host-a }\n", "")
            .Replace("  - { name: vm5,", "  - { name: vm7, network: green, mac: \"02:00:00:03:00:07\", ip: 10.3.0.7, host: host-a }\n  - { name: vm5,");

        var changes = PolicyDocumentDiff.Compare(Load(PolicyYaml), Load(edited));

        changes.Select(c => c.Path).Should().Equal("ports[vm6]", "ports[vm7]");
        changes[0].After.Should().BeNull();
        changes[0].Before.Should().Contain("10.3.0.6");
        changes[1].Before.Should().BeNull();
        changes[1].ToString().Should().StartWith("+ ports[vm7]: {");
    }

    [Fact]
    public void Compare_UnnamedListGrows_ReportsTheWholeList()
    {
        var changes = PolicyDocumentDiff.Compare(Load(PolicyYaml), Load(GitPolicyTrackerTests.DenyVm2WebAndMoveVm3));

        changes.Select(c => c.Path).Should().Equal("ports[vm3].mac", "acl.rules");
        changes[1].After.Should().Contain("10.1.0.2/32");
    }

    [Fact]
    public void Compare_ScalarRemoved_ReportedAsRemoved()
    {
        var changes = PolicyDocumentDiff.Compare(Load(PolicyYaml), Load(PolicyYaml.Replace(", gatewayMac: \"02:00:00:00:ff:fe\"", "")));

        changes.Should().ContainSingle().Which.Should().Be(new PolicyDocumentChange("host.gatewayMac", "\"02:00:00:00:ff:fe\"", null));
    }
}
