using CsCheck;
using Offload.Classification;
using Offload.Packets;

namespace Offload.Tests.Classification;

/// <summary>
/// The fast classifier's partitions by (direction, protocol class, VNI), the any-VNI trees walked beside a
/// VNI's own, the partition table, and the leaf's prefix masks: each checked against the linear reference.
/// </summary>
public class AclClassifierPartitionTests
{
    private static readonly NetAddress A = NetAddress.Parse("10.1.0.1");
    private static readonly NetAddress B = NetAddress.Parse("10.2.0.1");

    private static AclRule Rule(int id, int priority, AclAction action, uint? vni = null, byte? protocol = null,
        AclDirection direction = AclDirection.Both) => new()
        {
            Id = id, Priority = priority, Action = action, Direction = direction, Vni = vni, Protocol = protocol,
        };

    private static AclQuery Query(uint vni, byte protocol = IpProtocol.Tcp, AclDirection direction = AclDirection.Ingress) =>
        new(direction, vni, A, B, protocol, 1234, 80);

    private static AclMatch Classify(AclQuery query, params AclRule[] rules)
    {
        var fast = AclClassifier.Build(rules, AclMode.DenyList).Classify(query);
        fast.Should().Be(LinearAclClassifier.Build(rules, AclMode.DenyList).Classify(query), "the reference decides");
        return fast;
    }

    [Fact]
    public void Classify_AnyVniRuleOutranksVniRule_AnyVniRuleWins()
    {
        Classify(Query(7), Rule(0, 1, AclAction.Deny, vni: 7), Rule(1, 2, AclAction.Allow))
            .Should().Be(new AclMatch(AclAction.Allow, 1));
    }

    [Fact]
    public void Classify_VniRuleOutranksAnyVniRule_VniRuleWins()
    {
        Classify(Query(7), Rule(0, 2, AclAction.Allow, vni: 7), Rule(1, 1, AclAction.Deny))
            .Should().Be(new AclMatch(AclAction.Allow, 0));
    }

    [Fact]
    public void Classify_TieAcrossVniAndAnyVniTrees_DenyThenLowestIdWins()
    {
        Classify(Query(7), Rule(0, 5, AclAction.Allow, vni: 7), Rule(1, 5, AclAction.Deny))
            .Should().Be(new AclMatch(AclAction.Deny, 1));
        Classify(Query(7), Rule(3, 5, AclAction.Deny, vni: 7), Rule(2, 5, AclAction.Deny))
            .Should().Be(new AclMatch(AclAction.Deny, 2));
    }

    [Fact]
    public void Classify_VniNamedByNoRule_OnlyAnyVniRulesApply()
    {
        var rules = new[] { Rule(0, 9, AclAction.Deny, vni: 7), Rule(1, 1, AclAction.Allow) };
        Classify(Query(8), rules).Should().Be(new AclMatch(AclAction.Allow, 1));
        Classify(Query(8), Rule(0, 9, AclAction.Deny, vni: 7)).Should().Be(AclMatch.DefaultFor(AclMode.DenyList));
    }

    [Fact]
    public void Classify_QueryVniWiderThan24Bits_NeverMatchesAVniRule()
    {
        // (vni << 3) of a wider VNI would alias a 24-bit one in the table key; such a query must not find it.
        uint wide = (1u << 29) | 7;
        Classify(Query(wide), Rule(0, 9, AclAction.Deny, vni: 7), Rule(1, 1, AclAction.Allow))
            .Should().Be(new AclMatch(AclAction.Allow, 1));
    }

    [Theory]
    [InlineData(IpProtocol.Tcp, 0)]
    [InlineData(IpProtocol.Udp, 1)]
    [InlineData(IpProtocol.Icmp, 2)]
    [InlineData((byte)47, 3)]
    [InlineData((byte)58, 4)]
    public void Classify_ProtocolClasses_SpecificRuleBeforeAnyProtocolRule(byte protocol, int expectedId)
    {
        // Rules 0-3 name a protocol (47, GRE, shares the "other" class with 58); rule 4 is for any protocol.
        var rules = new[]
        {
            Rule(0, 5, AclAction.Deny, protocol: IpProtocol.Tcp), Rule(1, 5, AclAction.Deny, protocol: IpProtocol.Udp),
            Rule(2, 5, AclAction.Deny, protocol: IpProtocol.Icmp), Rule(3, 5, AclAction.Deny, protocol: 47),
            Rule(4, 1, AclAction.Allow),
        };
        Classify(Query(100, protocol), rules).RuleId.Should().Be(expectedId);
    }

    [Theory]
    [InlineData(AclDirection.Ingress, AclDirection.Ingress, 0)]
    [InlineData(AclDirection.Egress, AclDirection.Ingress, 1)]
    [InlineData(AclDirection.Egress, AclDirection.Egress, 0)]
    public void Classify_DirectionPartitions_RuleOnlyInItsDirection(AclDirection rule, AclDirection packet, int expectedId)
    {
        Classify(Query(100, direction: packet), Rule(0, 5, AclAction.Deny, vni: 100, direction: rule), Rule(1, 1, AclAction.Allow, vni: 100))
            .RuleId.Should().Be(expectedId);
    }

    [Theory]
    [InlineData("fd00::/64", "fd00::ffff:1", true)]
    [InlineData("fd00::/64", "fd00:0:0:1::", false)]
    [InlineData("fd00::8000:0:0:0/65", "fd00::8000:0:0:1", true)]
    [InlineData("fd00::8000:0:0:0/65", "fd00::7fff:ffff:ffff:ffff", false)]
    [InlineData("fd00::1/128", "fd00::1", true)]
    [InlineData("fd00::1/128", "fd00::", false)]
    [InlineData("::/64", "10.9.8.7", true)]
    [InlineData("0.0.0.0/0", "::1", false)]
    [InlineData("10.0.0.0/7", "11.255.255.255", true)]
    public void Classify_PrefixLengthsAroundTheHalfBoundary_MaskExactly(string prefix, string address, bool matches)
    {
        var rule = Rule(0, 1, AclAction.Deny) with { Source = AclPrefix.Parse(prefix) };
        var query = new AclQuery(AclDirection.Ingress, 1, NetAddress.Parse(address), B, IpProtocol.Udp, 1, 2);
        Classify(query, rule).IsDefault.Should().Be(!matches);
    }

    [Theory]
    [InlineData("::/64", "10.0.0.0/8", "10.1.2.3", "10.9.9.9", true)]
    [InlineData("::/64", "10.0.0.0/8", "::1", "10.9.9.9", true)]
    [InlineData("0.0.0.0/0", "10.0.0.0/8", "fd00::1", "10.9.9.9", false)]
    [InlineData("10.0.0.0/8", "any", "10.1.2.3", "fd00::1", true)]
    [InlineData("10.0.0.0/8", "10.0.0.0/8", "10.1.2.3", "fd00::1", false)]
    [InlineData("fd00::/16", "any", "10.1.2.3", "10.9.9.9", false)]
    [InlineData("10.1.2.3", "10.0.0.0/31", "10.1.2.3", "10.0.0.1", true)]
    [InlineData("10.1.2.3", "10.0.0.0/31", "10.1.2.3", "10.0.0.2", false)]
    public void Classify_AddressFamilyLanes_RuleReachesEveryQueryItsPrefixesCover(string source, string destination,
        string srcIp, string dstIp, bool matches)
    {
        // IPv4 queries (both addresses IPv4-mapped) walk the IPv4 lanes, whose rules are clipped to the IPv4 block;
        // every other query, mixed families included, walks the other lanes.
        var rule = Rule(0, 1, AclAction.Deny, vni: 9) with { Source = AclPrefix.Parse(source), Destination = AclPrefix.Parse(destination) };
        var query = new AclQuery(AclDirection.Ingress, 9, NetAddress.Parse(srcIp), NetAddress.Parse(dstIp), IpProtocol.Tcp, 1, 2);
        Classify(query, rule, Rule(1, 0, AclAction.Allow) with { Source = AclPrefix.Parse("fe80::/16") })
            .Should().Be(matches ? new AclMatch(AclAction.Deny, 0) : AclMatch.DefaultFor(AclMode.DenyList));
    }

    [Fact]
    public void Classify_ManyVnisProtocolsAndDirections_AgreesWithLinearReference()
    {
        // Hundreds of partitions (table probing, lanes) with rules of every kind spread over them.
        Gen.Select(Gen.Int[0, 400], Gen.Int).Sample((count, seed) =>
        {
            var r = new Random(seed);
            var rules = AclRuleGen.Adversarial(r, count);
            for (int i = 0; i < rules.Length; i++)
            {
                rules[i] = rules[i] with
                {
                    Vni = r.Next(4) == 0 ? null : (uint)r.Next(300),
                    Protocol = r.Next(4) == 0 ? null : (byte)r.Next(256),
                };
            }
            var fast = AclClassifier.Build(rules, AclMode.AllowList);
            var reference = LinearAclClassifier.Build(rules, AclMode.AllowList);
            for (int q = 0; q < 300; q++)
            {
                var b = AclRuleGen.BoundaryQuery(r, rules);
                var query = new AclQuery(b.Direction, r.Next(8) == 0 ? (uint)r.Next() : (uint)r.Next(310), b.SrcIp, b.DstIp,
                    r.Next(3) == 0 ? (byte)r.Next(256) : b.Protocol, b.SrcPort, b.DstPort);
                var expected = reference.Classify(query);
                var actual = fast.Classify(query);
                if (actual != expected)
                    throw new InvalidOperationException($"seed {seed}, {count} rules, query {query}: tree {actual}, linear {expected}");
            }
        }, iter: 100);
    }

    [Fact]
    public void Classify_TenThousandRules_DoesNotAllocate()
    {
        var r = new Random(11);
        var rules = AclRuleGen.Realistic(r, 10_000);
        var fast = AclClassifier.Build(rules, AclMode.DenyList);
        var queries = new AclQuery[256];
        for (int i = 0; i < queries.Length; i++)
            queries[i] = AclRuleGen.RealisticQuery(r, rules);
        long sum = 0;
        foreach (var q in queries)
            sum += fast.Classify(q).RuleId; // first calls may allocate in the runtime (JIT); not counted
        long before = GC.GetAllocatedBytesForCurrentThread();
        foreach (var q in queries)
            sum += fast.Classify(q).RuleId;
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        allocated.Should().Be(0, "classification runs per first packet and must not allocate (checksum {0})", sum);
    }

    [Fact]
    public void Build_TenThousandRealisticRules_MemoryBoundedPerRule()
    {
        var rules = AclRuleGen.Realistic(new Random(20260511), 10_000);
        var fast = AclClassifier.Build(rules, AclMode.DenyList);
        // Partitions copy rules for both directions and any protocol, and trees replicate straddling rules;
        // together this stays within a small multiple (measured: about 5 leaf references, 133 bytes per rule).
        fast.LeafRuleReferences.Should().BeLessThan(8 * fast.ExpandedRuleCount);
        fast.MemoryBytes.Should().BeLessThan(1024L * fast.ExpandedRuleCount);
    }
}
