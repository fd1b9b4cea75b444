using System.Text.Json;

namespace Offload.Cli.Tests;

/// <summary><c>offload flows</c>, <c>conntrack</c> and <c>stats</c> after replaying a capture.</summary>
public sealed class TableCommandTests : IDisposable
{
    private readonly TempFolder _dir = new();
    private readonly string _policy;
    private readonly string _pcap;

    public TableCommandTests()
    {
        _policy = _dir.File("policy.yaml", TraceCommandTests.Policy);
        _pcap = _dir.File("in.pcap");
        TestFrames.WritePcap(_pcap, TraceCommandTests.Frames());
    }

    public void Dispose() => _dir.Dispose();

    private string Run(params string[] args)
    {
        var (code, output, err) = OffloadProcess.Run([.. args, "--policy", _policy, "--pcap", _pcap]);
        code.Should().Be(0, err);
        return output;
    }

    [Fact]
    public void Flows_Text_LikeDpctlDumpFlows()
    {
        string output = Run("flows");
        output.Should().Contain("in_port(vm1),vni(100),ipv4(src=10.1.0.1,dst=10.1.0.2,proto=udp),udp(src=5000,dst=53), packets:1,")
            .And.Contain("in_port(vm2),vni(100),ipv4(src=10.1.0.2,dst=10.1.0.1,proto=udp),udp(src=53,dst=5000), packets:1,")
            .And.Contain("encap(vxlan vni=100");
        output.Should().MatchRegex(@"used:\d+\.\d{3}s, actions:");
    }

    [Fact]
    public void Conntrack_Text_LikeConntrackList()
    {
        string output = Run("conntrack");
        output.Should().Contain("udp      17 ").And.Contain("src=10.1.0.1 dst=10.1.0.2 sport=5000 dport=53 packets=2");
        output.Should().MatchRegex(@"tcp      6 \d+ SYN_SENT src=10\.1\.0\.1 dst=10\.1\.0\.3 sport=40000 dport=80 packets=1 bytes=54 \[UNREPLIED\] src=10\.1\.0\.3 dst=10\.1\.0\.1 sport=80 dport=40000 packets=0 bytes=0 zone=100");
        output.Should().Contain("dst=10.1.255.10").And.Contain("src=10.1.0.2 dst=10.1.0.1 sport=8080 dport=40001", "the reply tuple carries the DNAT");
    }

    [Fact]
    public void Conntrack_Json_OneConnectionPerLine()
    {
        var lines = Run("conntrack", "--json").Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        lines.Should().HaveCount(4, "udp vm1→vm2, tcp to vm3, tcp to the VIP, udp to vm5");
        lines.Select(l => l.GetProperty("state").GetString()).Should().Contain(["REPLIED", "SYN_SENT", "UNREPLIED"]);
    }

    [Fact]
    public void Stats_Json_CountsFramesPathsAndDropReasons()
    {
        var stats = JsonDocument.Parse(Run("stats", "--json")).RootElement;
        stats.GetProperty("frames").GetInt32().Should().Be(9);
        stats.GetProperty("forwarded").GetInt32().Should().Be(7);
        stats.GetProperty("dropped").GetInt32().Should().Be(2);
        stats.GetProperty("fastPath").GetInt32().Should().Be(2);
        stats.GetProperty("drops").GetProperty("acl").GetInt32().Should().Be(1);
        stats.GetProperty("drops").GetProperty("unknown-port").GetInt32().Should().Be(1);
        stats.GetProperty("out").GetProperty("uplink").GetInt32().Should().Be(2);
        stats.GetProperty("connections").GetInt32().Should().Be(4);
    }

    [Fact]
    public void Help_SaysTheTablesComeFromTheAgentOrAReplay()
    {
        foreach (string command in new[] { "flows", "conntrack", "stats" })
        {
            var (code, output, _) = OffloadProcess.Run(command, "--help");
            code.Should().Be(0);
            output.Should().Contain("Asks the running agent ('offload run', --socket)", $"'{command} --help' says where its table comes from")
                .And.Contain("with --pcap, replays the capture");
        }
    }
}
