using System.Collections.Immutable;
using Offload.Classification;
using Offload.Packets;

namespace Offload.Tests.Classification;

/// <summary>ACL semantics, checked on both the fast classifier and the reference (they must agree).</summary>
public class AclClassifierTests
{
    private static readonly NetAddress Vm1 = NetAddress.Parse("10.1.0.1");
    private static readonly NetAddress Vm2 = NetAddress.Parse("10.1.9.7");

    private static AclQuery Tcp(NetAddress src, NetAddress dst, ushort dport, AclDirection dir = AclDirection.Egress, uint vni = 100, ushort sport = 40000) =>
        new(dir, vni, src, dst, IpProtocol.Tcp, sport, dport);

    private static AclMatch Classify(AclMode mode, AclQuery query, params AclRule[] rules)
    {
        var fast = AclClassifier.Build(rules, mode).Classify(query);
        var reference = LinearAclClassifier.Build(rules, mode).Classify(query);
        fast.Should().Be(reference, "the tree classifier must agree with the linear reference");
        return fast;
    }

    private static AclRule Rule(int id, int priority, AclAction action, string src = "any", string dst = "any") => new()
    {
        Id = id, Priority = priority, Action = action, Direction = AclDirection.Both,
        Source = AclPrefix.Parse(src), Destination = AclPrefix.Parse(dst),
    };

    [Fact]
    public void Classify_NoRules_ReturnsDefaultOfMode()
    {
        Classify(AclMode.DenyList, Tcp(Vm1, Vm2, 22)).Should().Be(new AclMatch(AclAction.Allow, -1));
        Classify(AclMode.AllowList, Tcp(Vm1, Vm2, 22)).Should().Be(new AclMatch(AclAction.Deny, -1));
    }

    [Fact]
    public void Classify_HigherPriority_Wins()
    {
        var m = Classify(AclMode.DenyList, Tcp(Vm1, Vm2, 22),
            Rule(0, 10, AclAction.Deny, "10.1.0.0/16"), Rule(1, 20, AclAction.Allow, "10.1.0.0/24"));
        m.Should().Be(new AclMatch(AclAction.Allow, 1));
    }

    [Fact]
    public void Classify_EqualPriority_DenyWins()
    {
        var m = Classify(AclMode.AllowList, Tcp(Vm1, Vm2, 22),
            Rule(0, 5, AclAction.Allow), Rule(1, 5, AclAction.Deny, "10.0.0.0/8"), Rule(2, 5, AclAction.Allow, "10.1.0.1"));
        m.Should().Be(new AclMatch(AclAction.Deny, 1));
    }

    [Fact]
    public void Classify_EqualPriorityAndAction_LowestIdWins()
    {
        var m = Classify(AclMode.DenyList, Tcp(Vm1, Vm2, 22), Rule(7, 5, AclAction.Deny), Rule(3, 5, AclAction.Deny));
        m.RuleId.Should().Be(3);
    }

    [Theory]
    [InlineData(AclDirection.Ingress, AclDirection.Ingress, true)]
    [InlineData(AclDirection.Ingress, AclDirection.Egress, false)]
    [InlineData(AclDirection.Egress, AclDirection.Egress, true)]
    [InlineData(AclDirection.Egress, AclDirection.Ingress, false)]
    [InlineData(AclDirection.Both, AclDirection.Ingress, true)]
    [InlineData(AclDirection.Both, AclDirection.Egress, true)]
    public void Classify_Direction_MatchesOnlyItsDirection(AclDirection rule, AclDirection packet, bool matches)
    {
        var r = Rule(0, 1, AclAction.Deny) with { Direction = rule };
        Classify(AclMode.DenyList, Tcp(Vm1, Vm2, 22, packet), r).IsDefault.Should().Be(!matches);
    }

    [Fact]
    public void Classify_QueryDirectionBoth_MatchesNoRule()
    {
        var r = Rule(0, 1, AclAction.Deny);
        Classify(AclMode.DenyList, Tcp(Vm1, Vm2, 22, AclDirection.Both), r).IsDefault.Should().BeTrue();
    }

    [Fact]
    public void Classify_VniFilter_MatchesOnlyThatNetwork()
    {
        var r = Rule(0, 1, AclAction.Deny) with { Vni = 100 };
        Classify(AclMode.DenyList, Tcp(Vm1, Vm2, 22, vni: 100), r).RuleId.Should().Be(0);
        Classify(AclMode.DenyList, Tcp(Vm1, Vm2, 22, vni: 200), r).IsDefault.Should().BeTrue();
        Classify(AclMode.DenyList, Tcp(Vm1, Vm2, 22, vni: 200), r with { Vni = null }).RuleId.Should().Be(0);
    }

    [Theory]
    [InlineData("10.1.0.0/24", "10.1.0.0", true)]
    [InlineData("10.1.0.0/24", "10.1.0.255", true)]
    [InlineData("10.1.0.0/24", "10.1.1.0", false)]
    [InlineData("10.1.0.0/24", "10.0.255.255", false)]
    [InlineData("0.0.0.0/0", "203.0.113.9", true)]
    [InlineData("0.0.0.0/0", "2001:db8::1", false)]
    [InlineData("any", "2001:db8::1", true)]
    [InlineData("any", "10.9.9.9", true)]
    [InlineData("2001:db8::/32", "2001:db8:ffff::1", true)]
    [InlineData("2001:db8::/32", "2001:db9::", false)]
    [InlineData("2001:db8::/32", "10.1.0.1", false)]
    [InlineData("fd00::1/128", "fd00::1", true)]
    [InlineData("fd00::1/128", "fd00::2", false)]
    [InlineData("10.1.0.1", "10.1.0.1", true)]
    [InlineData("10.1.0.1", "10.1.0.2", false)]
    public void Classify_SourcePrefix_MatchesAddressesInside(string prefix, string address, bool matches)
    {
        var r = Rule(0, 1, AclAction.Deny, src: prefix);
        var q = Tcp(NetAddress.Parse(address), Vm2, 22);
        Classify(AclMode.DenyList, q, r).IsDefault.Should().Be(!matches);
        // Same prefix on the destination side.
        var rd = Rule(0, 1, AclAction.Deny, dst: prefix);
        Classify(AclMode.DenyList, Tcp(Vm1, NetAddress.Parse(address), 22), rd).IsDefault.Should().Be(!matches);
    }

    [Theory]
    [InlineData(999, false)]
    [InlineData(1000, true)]
    [InlineData(1500, true)]
    [InlineData(2000, true)]
    [InlineData(2001, false)]
    [InlineData(22, true)]
    [InlineData(443, true)]
    [InlineData(444, false)]
    public void Classify_DestinationPortList_MatchesAnyRange(ushort port, bool matches)
    {
        var r = Rule(0, 1, AclAction.Deny) with
        {
            Protocol = IpProtocol.Tcp,
            DestinationPorts = [PortRange.Single(22), PortRange.Single(443), new PortRange(1000, 2000)],
        };
        Classify(AclMode.DenyList, Tcp(Vm1, Vm2, port), r).IsDefault.Should().Be(!matches);
    }

    [Fact]
    public void Classify_SourcePortRange_ChecksSourcePort()
    {
        var r = Rule(0, 1, AclAction.Deny) with { SourcePorts = [new PortRange(1024, 65535)] };
        Classify(AclMode.DenyList, Tcp(Vm1, Vm2, 80, sport: 1023), r).IsDefault.Should().BeTrue();
        Classify(AclMode.DenyList, Tcp(Vm1, Vm2, 80, sport: 1024), r).RuleId.Should().Be(0);
        Classify(AclMode.DenyList, Tcp(Vm1, Vm2, 80, sport: 65535), r).RuleId.Should().Be(0);
    }

    [Fact]
    public void Classify_ProtocolNull_MatchesEveryProtocol_SpecificMatchesOnlyItself()
    {
        var any = Rule(0, 1, AclAction.Deny);
        var udp = Rule(1, 2, AclAction.Allow) with { Protocol = IpProtocol.Udp };
        var tcpQuery = Tcp(Vm1, Vm2, 53);
        var udpQuery = new AclQuery(AclDirection.Egress, 100, Vm1, Vm2, IpProtocol.Udp, 5000, 53);
        var icmpQuery = new AclQuery(AclDirection.Egress, 100, Vm1, Vm2, IpProtocol.Icmp, 1, 8 << 8);
        Classify(AclMode.DenyList, tcpQuery, any, udp).RuleId.Should().Be(0);
        Classify(AclMode.DenyList, udpQuery, any, udp).RuleId.Should().Be(1);
        Classify(AclMode.DenyList, icmpQuery, any, udp).RuleId.Should().Be(0);
    }

    [Fact]
    public void Classify_IcmpTypeAsDestinationPort_MatchesEchoRequestOnly()
    {
        var echo = Rule(0, 1, AclAction.Deny) with { Protocol = IpProtocol.Icmp, DestinationPorts = [new PortRange(8 << 8, (8 << 8) | 0xFF)] };
        Classify(AclMode.DenyList, new AclQuery(AclDirection.Egress, 1, Vm1, Vm2, IpProtocol.Icmp, 7, 8 << 8), echo).RuleId.Should().Be(0);
        Classify(AclMode.DenyList, new AclQuery(AclDirection.Egress, 1, Vm1, Vm2, IpProtocol.Icmp, 7, 0), echo).IsDefault.Should().BeTrue();
    }

    [Fact]
    public void Build_InvalidDirection_ThrowsNamingTheRule()
    {
        var bad = Rule(4, 1, AclAction.Deny) with { Direction = (AclDirection)9 };
        var act = () => AclClassifier.Build([Rule(0, 1, AclAction.Allow), bad], AclMode.DenyList);
        act.Should().Throw<ArgumentException>().WithMessage("*rule 1 (id 4)*direction*");
        var actLinear = () => LinearAclClassifier.Build([bad], AclMode.DenyList);
        actLinear.Should().Throw<ArgumentException>();
    }

    [Fact]
    public void Build_VniOver24Bits_Throws()
    {
        var act = () => AclClassifier.Build([Rule(0, 1, AclAction.Deny) with { Vni = 1u << 24 }], AclMode.DenyList);
        act.Should().Throw<ArgumentException>().WithMessage("*VNI*");
    }

    [Fact]
    public void Classify_ManyOverlappingRules_TreeSplitsAndStillAgrees()
    {
        // Enough rules to force inner nodes, with a low-priority catch-all under specific ones.
        var rules = new List<AclRule> { Rule(0, 0, AclAction.Deny) };
        for (int i = 1; i <= 200; i++)
            rules.Add(Rule(i, i % 7 + 1, AclAction.Allow, src: $"10.1.{i}.0/24") with { DestinationPorts = [PortRange.Single((ushort)(1000 + i))] });
        var fast = AclClassifier.Build(rules, AclMode.AllowList);
        fast.NodeCount.Should().BeGreaterThan(0);
        fast.Classify(Tcp(NetAddress.Parse("10.1.57.3"), Vm2, 1057)).Should().Be(new AclMatch(AclAction.Allow, 57));
        fast.Classify(Tcp(NetAddress.Parse("10.1.57.3"), Vm2, 1058)).Should().Be(new AclMatch(AclAction.Deny, 0));
    }

    [Theory]
    [InlineData("10.1.0.0/16", 112, "10.1.0.0/16")]
    [InlineData("10.1.2.3/16", 112, "10.1.0.0/16")]
    [InlineData("2001:db8::/32", 32, "2001:db8::/32")]
    [InlineData("10.0.0.1", 128, "10.0.0.1/32")]
    [InlineData("any", 0, "::/0")]
    public void AclPrefix_Parse_HoldsIpv4LengthsPlus96AndMasksHostBits(string text, int length, string formatted)
    {
        var p = AclPrefix.Parse(text);
        p.Length.Should().Be(length);
        p.ToString().Should().Be(formatted);
    }

    [Theory]
    [InlineData("10.0.0.0/33")]
    [InlineData("fd00::/129")]
    [InlineData("10.0.0.0/x")]
    [InlineData("10.0.0.0/-1")]
    public void AclPrefix_TryParse_Invalid_ReturnsFalse(string text) =>
        AclPrefix.TryParse(text, out _).Should().BeFalse();

    [Fact]
    public void PortRange_Reversed_Throws()
    {
        var act = () => new PortRange(10, 9);
        act.Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void AclRule_WithEqualPortLists_AreEqual()
    {
        var a = Rule(1, 1, AclAction.Deny) with { DestinationPorts = ImmutableArray.Create(PortRange.Single(80)) };
        var b = Rule(1, 1, AclAction.Deny) with { DestinationPorts = ImmutableArray.Create(PortRange.Single(80)) };
        a.Should().Be(b);
        (a == b with { DestinationPorts = [PortRange.Single(81)] }).Should().BeFalse();
    }
}
