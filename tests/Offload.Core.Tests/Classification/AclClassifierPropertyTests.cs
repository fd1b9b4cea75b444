using CsCheck;
using Offload.Classification;

namespace Offload.Tests.Classification;

/// <summary>The tree classifier against the linear reference on random, adversarial and large rule sets.</summary>
public class AclClassifierPropertyTests
{
    [Fact]
    public void Classify_RandomAdversarialRuleSets_AgreesWithLinearReference()
    {
        Gen.Select(Gen.Int[0, 300], Gen.Int, Gen.Int[0, 1]).Sample((count, seed, mode) =>
        {
            var r = new Random(seed);
            var rules = AclRuleGen.Adversarial(r, count);
            var fast = AclClassifier.Build(rules, (AclMode)mode);
            var reference = LinearAclClassifier.Build(rules, (AclMode)mode);
            for (int q = 0; q < 500; q++)
            {
                var query = AclRuleGen.BoundaryQuery(r, rules);
                var expected = reference.Classify(query);
                var actual = fast.Classify(query);
                if (actual != expected)
                    throw new InvalidOperationException($"seed {seed}, {count} rules, query {query}: tree {actual}, linear {expected}");
            }
        }, iter: 200);
    }

    [Fact]
    public void Classify_TenThousandRealisticRules_AgreesWithLinearReference()
    {
        var r = new Random(20260511);
        var rules = AclRuleGen.Realistic(r, 10_000);
        var fast = AclClassifier.Build(rules, AclMode.DenyList);
        var reference = LinearAclClassifier.Build(rules, AclMode.DenyList);
        int ruleDecided = 0;
        for (int q = 0; q < 20_000; q++)
        {
            var query = AclRuleGen.RealisticQuery(r, rules);
            var expected = reference.Classify(query);
            fast.Classify(query).Should().Be(expected, "query {0} ({1})", q, query);
            if (!expected.IsDefault)
                ruleDecided++;
        }
        ruleDecided.Should().BeGreaterThan(10_000, "most queries should exercise rules, not only the default");
        // Replication stays bounded (memory): a few leaf references per expanded rule.
        fast.LeafRuleReferences.Should().BeLessThan(8 * fast.ExpandedRuleCount);
    }
}
