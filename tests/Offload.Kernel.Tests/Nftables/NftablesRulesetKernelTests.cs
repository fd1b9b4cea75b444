using CsCheck;
using Offload.Kernel.Nftables;
using Offload.Kernel.Tests.Netns;
using Offload.Policy;

namespace Offload.Kernel.Tests.Nftables;

/// <summary>Generated rulesets applied to the real kernel, in a private network namespace.</summary>
public sealed class NftablesRulesetKernelTests
{
    [RootFact]
    public void Run_DemoPolicyRuleset_KernelAcceptsItAndReapplyingChangesNothing()
    {
        PolicySnapshot demo = PolicyFixtures.Demo();
        KernelTopology topology = PolicyFixtures.DemoTopology(demo);
        string ruleset = NftablesRulesetGenerator.Generate(demo, topology);
        using NetworkNamespace ns = NetworkNamespace.Create();

        (string first, string second) = ns.Enter(() =>
        {
            using NftablesContext nft = NftablesContext.Create(json: true);
            nft.Run(ruleset);
            string a = ns.Exec("nft", "list", "table", "inet", topology.TableName);
            nft.Run(NftablesRulesetGenerator.Generate(demo, topology));
            return (a, ns.Exec("nft", "list", "table", "inet", topology.TableName));
        });

        second.Should().Be(first);
        first.Should().Contain("chain acl_egress_blue").And.Contain("chain sg_web").And.Contain("map lb_web_addr")
            .And.Contain("comment \"acl:0\"").And.Contain("log prefix \"acl:0\" group 7")
            .And.Contain("snat ip to 203.0.113.5:1024-65535").And.Contain("numgen random mod 2");
        ns.Exec("nft", "list", "tables").Trim().Should().Be("table inet " + topology.TableName, "the apply replaced the table instead of adding a second one");
    }

    [RootFact]
    public void Run_RandomValidPolicies_KernelAcceptsEachAndReadsBackItsCounters()
    {
        using NetworkNamespace ns = NetworkNamespace.Create();

        int applied = 0;
        // Each case enters the namespace itself: CsCheck may run a case on any thread, and libnftables acts in the
        // namespace of the thread that calls it.
        Gen.Int.Sample(seed => ns.Enter(() =>
        {
            PolicySnapshot policy = RandomPolicy.Create(seed);
            KernelTopology topology = KernelTopology.FromPolicy(policy);
            string ruleset = NftablesRulesetGenerator.Generate(policy, topology);
            using NftablesContext nft = NftablesContext.Create(json: true);
            try
            {
                nft.Run(ruleset);
            }
            catch (NftablesException e)
            {
                throw new InvalidOperationException($"seed {seed}: {e.ErrorText}\n{RandomPolicy.Yaml(seed)}\n{ruleset}", e);
            }
            IReadOnlyDictionary<string, NftablesCounter> counters = nft.ReadRuleCounters("inet", topology.TableName);
            counters.Should().ContainKey(NftablesRulesetGenerator.EstablishedComment);
            for (int i = 0; i < policy.Acl.Rules.Length; i++)
                counters.Keys.Should().Contain($"acl:{i}", "seed {0}: every ACL rule is in some chain with a counter", seed);
            return Interlocked.Increment(ref applied);
        }), iter: 30, threads: 1);

        applied.Should().Be(30);
    }
}
