using System.Collections.Immutable;
using System.Text.Json;
using CsCheck;
using Offload.Kernel.Nftables;
using Offload.Policy;

namespace Offload.Kernel.Tests.Nftables;

/// <summary>The generated JSON, structurally (no kernel).</summary>
public sealed class NftablesRulesetGeneratorTests
{
    private static List<JsonElement> Commands(string json) =>
        JsonDocument.Parse(json).RootElement.GetProperty("nftables").EnumerateArray().ToList();

    private static List<JsonElement> Rules(string json) =>
        Commands(json).Where(c => c.TryGetProperty("add", out JsonElement add) && add.TryGetProperty("rule", out _)).Select(c => c.GetProperty("add").GetProperty("rule")).ToList();

    private static string Demo(Func<KernelTopology, KernelTopology>? change = null)
    {
        PolicySnapshot demo = PolicyFixtures.Demo();
        KernelTopology topology = PolicyFixtures.DemoTopology(demo);
        return NftablesRulesetGenerator.Generate(demo, change is null ? topology : change(topology));
    }

    [Fact]
    public void Generate_SameInput_ByteIdenticalOutput()
    {
        Demo().Should().Be(Demo());
    }

    [Fact]
    public void Generate_Demo_AddsDeletesAndReaddsTheTableFirst()
    {
        List<JsonElement> commands = Commands(Demo());

        commands.Take(3).Select(c => c.EnumerateObject().Single().Name).Should().Equal("add", "delete", "add");
        commands.Take(3).Should().OnlyContain(c => c.EnumerateObject().Single().Value.GetProperty("table").GetProperty("name").GetString() == "offload_policy");
    }

    [Fact]
    public void Generate_Demo_ForwardChainAcceptsEstablishedFirst()
    {
        JsonElement first = Rules(Demo()).First(r => r.GetProperty("chain").GetString() == "forward");

        first.GetProperty("comment").GetString().Should().Be("ct:established");
        first.GetRawText().Should().Contain("\"established\"").And.Contain("\"related\"").And.Contain("\"accept\"");
    }

    [Fact]
    public void Generate_Demo_AclRuleOnlyInItsNetworkAndDirection_WithLogPrefix()
    {
        List<JsonElement> acl0 = Rules(Demo()).Where(r => r.TryGetProperty("comment", out JsonElement c) && c.GetString() == "acl:0").ToList();

        acl0.Should().ContainSingle().Which.GetProperty("chain").GetString().Should().Be("acl_egress_blue");
        string text = acl0[0].GetRawText();
        text.Should().Contain("{\"log\":{\"prefix\":\"acl:0\",\"group\":7}}").And.Contain("\"drop\"");
        text.Should().Contain("\"dir\":\"original\"", "egress rules see the destination before DNAT");
    }

    [Fact]
    public void Generate_Demo_SecurityGroupAllowsListedInboundThenDropsTheRest()
    {
        List<JsonElement> sg = Rules(Demo()).Where(r => r.GetProperty("chain").GetString() == "sg_web").ToList();

        sg.Select(r => r.GetProperty("comment").GetString()).Should().Equal("sg:web:allow:0", "sg:web:allow:1", "sg:web:inbound");
        sg[2].GetRawText().Should().Contain("security-group:web:inbound").And.Contain("\"drop\"");
    }

    [Fact]
    public void Generate_MaglevVip_PinnedRuleBeforeRandomFallback()
    {
        string json = Demo();
        List<string?> dnat = Rules(json).Where(r => r.GetProperty("chain").GetString() == "dstnat").Select(r => r.GetProperty("comment").GetString()).ToList();

        dnat.Should().Equal("lb:web:pinned", "lb:web");
        json.Should().Contain("\"name\":\"lb_web_addr\"").And.Contain("\"name\":\"lb_web_port\"");
    }

    [Fact]
    public void Generate_NoUplink_NoSnatAndNoUplinkRule()
    {
        string json = Demo(t => t with { UplinkInterface = null });

        Rules(json).Should().NotContain(r => r.GetProperty("chain").GetString() == "srcnat");
        json.Should().NotContain("uplink:unsolicited");
    }

    [Fact]
    public void Generate_LocalPortWithoutInterface_ThrowsNamingThePort()
    {
        PolicySnapshot demo = PolicyFixtures.Demo();
        KernelTopology topology = PolicyFixtures.DemoTopology(demo) with { PortInterfaces = ImmutableDictionary<string, string>.Empty.Add("vm1", "vnet-vm1") };

        Action act = () => NftablesRulesetGenerator.Generate(demo, topology);

        act.Should().Throw<ArgumentException>().WithMessage("*'vm2'*");
    }

    [Fact]
    public void Generate_RandomPolicies_EveryDropLogsFirstAndEveryCommentedRuleCounts()
    {
        Gen.Int.Sample(seed =>
        {
            PolicySnapshot policy = RandomPolicy.Create(seed);
            string json = NftablesRulesetGenerator.Generate(policy, KernelTopology.FromPolicy(policy));
            json.Should().Be(NftablesRulesetGenerator.Generate(policy, KernelTopology.FromPolicy(policy)));
            foreach (JsonElement rule in Rules(json))
            {
                List<string> statements = rule.GetProperty("expr").EnumerateArray().Select(e => e.EnumerateObject().First().Name).ToList();
                if (statements.Contains("drop"))
                {
                    statements.IndexOf("log").Should().BeInRange(0, statements.IndexOf("drop") - 1, "seed {0}: a drop logs first", seed);
                    string prefix = rule.GetProperty("expr").EnumerateArray().First(e => e.TryGetProperty("log", out _)).GetProperty("log").GetProperty("prefix").GetString()!;
                    prefix.Should().MatchRegex("^(acl|security-group|no-route|spoofed-source|unsolicited|conntrack-invalid):.+");
                }
                if (rule.TryGetProperty("comment", out _))
                    statements.Should().Contain("counter", "seed {0}: every rule with a provenance counts", seed);
            }
        }, iter: 50);
    }
}
