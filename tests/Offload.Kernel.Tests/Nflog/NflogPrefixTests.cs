using Offload.Kernel.Nflog;

namespace Offload.Kernel.Tests.Nflog;

public sealed class NflogPrefixTests
{
    [Theory]
    [InlineData("acl:3", DropReason.Acl, "3")]
    [InlineData("security-group:web:inbound", DropReason.SecurityGroup, "web:inbound")]
    [InlineData("no-route:blue", DropReason.NoRoute, "blue")]
    [InlineData("conntrack-invalid:ct", DropReason.ConntrackInvalid, "ct")]
    [InlineData("acl", DropReason.Acl, "")]
    public void TryParse_GeneratedPrefix_ReasonAndRuleId(string prefix, DropReason reason, string id)
    {
        NflogPrefix.TryParse(prefix, out DropReason r, out string ruleId).Should().BeTrue();
        r.Should().Be(reason);
        ruleId.Should().Be(id);
    }

    [Theory]
    [InlineData("")]
    [InlineData("firewall:3")]
    [InlineData("none:1")]
    [InlineData(":acl")]
    [InlineData("ACL:3")]
    public void TryParse_ForeignPrefix_NoReasonWholePrefixAsId(string prefix)
    {
        NflogPrefix.TryParse(prefix, out DropReason r, out string ruleId).Should().BeFalse();
        r.Should().Be(DropReason.None);
        ruleId.Should().Be(prefix);
    }

    [Fact]
    public void TryParse_EveryDropReasonName_RoundTrips()
    {
        foreach (DropReason reason in Enum.GetValues<DropReason>())
        {
            if (reason == DropReason.None)
                continue;
            NflogPrefix.TryParse(reason.Name() + ":x", out DropReason r, out string id).Should().BeTrue(reason.Name());
            r.Should().Be(reason);
            id.Should().Be("x");
        }
    }
}
