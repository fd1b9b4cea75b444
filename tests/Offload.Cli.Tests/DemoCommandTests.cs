using System.Text.RegularExpressions;

namespace Offload.Cli.Tests;

/// <summary>The <c>offload</c> executable as a user runs it: a real process, real output.</summary>
public class DemoCommandTests
{
    private static long Number(string text, string pattern) =>
        long.Parse(Regex.Match(text, pattern, RegexOptions.Multiline).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);

    private static readonly Lazy<string> DemoOutput = new(() =>
    {
        var (code, output, err) = OffloadProcess.Run("demo", "--connections", "30", "--slow-path", "policy");
        code.Should().Be(0, err);
        return output;
    });

    [Fact]
    public void Demo_PolicySlowPath_ShowsSlowPathInUseTablesAndMostlyFastPath()
    {
        string output = DemoOutput.Value;
        output.Split('\n')[0].Should().Be("slow path: in-process policy (--slow-path policy)", "the first line says which slow path is in use, and why");
        output.Should().Contain("== flow table:").And.Contain("== conntrack:").And.Contain("== counters ==");
        long fast = Number(output, @"^fast path (\d+), slow path \d+");
        long slow = Number(output, @"^fast path \d+, slow path (\d+)");
        fast.Should().BeGreaterThan(slow, "after the first packets of each connection, packets take the fast path");
        Number(output, @"^connections tracked (\d+)").Should().BeGreaterThan(30);
        output.Should().MatchRegex(@"ESTABLISHED\s+\d+").And.MatchRegex(@"TIME_WAIT\s+\d+");
        output.Should().Contain("| vxlan vni 100 192.0.2.10 > 192.0.2.11", "traffic to the VM on host-b is tunnelled");
    }

    [Fact]
    public void Demo_PolicySlowPath_ExercisesEveryFeatureOfThePolicy()
    {
        string output = DemoOutput.Value;
        output.Should().Contain("slow deliver vm1 arp-reply | out 02:00:00:01:00:02 > 02:00:00:01:00:01 10.1.0.2 > 10.1.0.1", "ARP for a peer is answered with its MAC");
        output.Should().Contain("arp-reply | out 02:00:00:00:ff:fe > 02:00:00:01:00:01 198.51.100.7", "off-network addresses get the gateway MAC");
        output.Should().MatchRegex(@"vm1 +tcp 10\.1\.0\.1:40000 > 10\.1\.0\.2:80 vni 100 \| slow deliver vm2 .*\| SYN_SENT", "same-host delivery");
        output.Should().MatchRegex(@"\| vxlan vni 100 192\.0\.2\.10 > 192\.0\.2\.11", "VXLAN to host-b");
        output.Should().MatchRegex(@"\| gre vni 200 192\.0\.2\.10 > 192\.0\.2\.11", "GRE to the red network on host-b");
        output.Should().MatchRegex(@"uplink +udp 10\.1\.0\.3:53 > 10\.1\.0\.1:5353 vni 100 \| \w+ deliver vm1", "a reply arriving over the tunnel is delivered");
        output.Should().MatchRegex(@"tcp 10\.1\.0\.1:5000\d > 10\.1\.255\.10:80 vni 100 \| slow \w+ \w+ \| out .* 10\.1\.0\.1:5000\d > 10\.1\.0\.[23]:8080", "VIP DNAT");
        output.Should().MatchRegex(@"\| out .* 10\.1\.255\.10:80 > 10\.1\.0\.1:5000\d", "the backend's reply is un-NATed");
        output.Should().MatchRegex(@"\| out 02:00:00:00:0a:01 > 02:00:00:00:ff:fe 203\.0\.113\.5:\d+ > 198\.51\.100\.7:443", "SNAT to the public address");
        output.Should().MatchRegex(@"uplink +tcp 198\.51\.100\.7:443 > 203\.0\.113\.5:\d+ vni 0 \| \w+ deliver vm1 \| out .* 198\.51\.100\.7:443 > 10\.1\.0\.1:41000", "the public reply is translated back");
        output.Should().Contain("slow drop acl").And.Contain("fast drop acl").And.Contain("drop security-group").And.Contain("drop qos");
        output.Should().MatchRegex(@"uplink +tcp 10\.1\.0\.3:443 > 10\.1\.0\.2:44000 vni 100 \| slow deliver vm2", "a reply to vm2's own connection passes its security group");
        output.Should().MatchRegex(@"revalidated \d+ connections: \d+ updated, 1 removed", "the policy change removes the connection it now denies");
        output.Should().MatchRegex(@"vm4 +tcp 10\.2\.0\.4:45000 > 10\.2\.0\.5:5201 vni 200 \| slow drop acl", "after revalidation the denied connection's packets are dropped");
        output.Should().Contain("drop truncated-ethernet: 1").And.Contain("drop bad-ipv4-header: 1").And.Contain("drop bad-vxlan-header: 1")
            .And.Contain("drop unknown-port: 1").And.Contain("drop spoofed-source: 1").And.Contain("drop security-group: 2");
    }

    [Theory]
    [InlineData("demo", "--connections", "0")]
    [InlineData("demo", "--connections", "many")]
    [InlineData("demo", "--bogus")]
    [InlineData("demo", "--slow-path", "bpf")]
    [InlineData("frobnicate")]
    [InlineData("trace", "--policy", "p.yaml")]
    [InlineData("trace", "--pcap", "in.pcap")]
    [InlineData("flows", "--policy")]
    [InlineData("policy", "validate")]
    [InlineData("policy", "frobnicate")]
    public void BadArguments_ExitTwoWithOneClearLine(params string[] args)
    {
        var (code, _, err) = OffloadProcess.Run(args);
        code.Should().Be(2);
        err.Trim().Split('\n').Should().ContainSingle();
        err.Should().StartWith("offload: ");
    }

    [Fact]
    public void Trace_MissingInputFiles_ExitOneWithOneLine()
    {
        var (code, _, err) = OffloadProcess.Run("trace", "--policy", "/nonexistent/p.yaml", "--pcap", "/nonexistent/in.pcap");
        code.Should().Be(1);
        err.Trim().Split('\n').Should().ContainSingle().Which.Should().Be("offload: policy /nonexistent/p.yaml does not exist.");
    }
}
