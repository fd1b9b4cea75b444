using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Offload.Cli.Tests;

/// <summary>One agent following a two-commit repository (only the first applied), shared by read-only tests.</summary>
public sealed class AgentFixture : IDisposable
{
    internal const string DenyDns = "    - { priority: 90, action: deny, direction: egress, network: blue, protocol: udp, dstPorts: \"53\" }\n";

    public AgentFixture()
    {
        Harness = new AgentHarness();
        First = Harness.Commit(TraceCommandTests.Policy, "first policy");
        Harness.Start();
        // Committed after the start and never checked (poll 1 h): the agent stays on the first.
        Second = Harness.Commit(AgentCommandTests.WithDnsDenied(), "deny DNS in blue");
    }

    internal AgentHarness Harness { get; }

    public string First { get; }

    public string Second { get; }

    public void Dispose() => Harness.Dispose();
}

/// <summary><c>offload flows|conntrack|stats|policy status|policy diff</c> against a running <c>offload run</c>, and its control socket.</summary>
public sealed class AgentCommandTests(AgentFixture fixture) : IClassFixture<AgentFixture>
{
    private AgentHarness Agent => fixture.Harness;

    internal static string WithDnsDenied() =>
        TraceCommandTests.Policy.Replace("acl:\n  rules:\n", "acl:\n  rules:\n" + AgentFixture.DenyDns, StringComparison.Ordinal);

    private string Client(params string[] args)
    {
        var (code, output, err) = OffloadProcess.Run([.. args, "--socket", Agent.Socket]);
        code.Should().Be(0, err);
        return output;
    }

    private static List<JsonElement> JsonLines(string output) =>
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();

    [Fact]
    public void Stats_Json_CountsTheFramesTheAgentSwitched()
    {
        var stats = JsonLines(Client("stats", "--json")).Single();
        stats.GetProperty("frames").GetInt32().Should().Be(9);
        stats.GetProperty("dropped").GetInt32().Should().BeGreaterThan(0, "the ACL-denied SSH and the unknown MAC are dropped");
        stats.GetProperty("connections").GetInt32().Should().Be(4);
    }

    [Fact]
    public void Flows_JsonAndText_ShowTheLiveFlowTable()
    {
        var flows = JsonLines(Client("flows", "--json"));
        flows.Should().Contain(f => f.GetProperty("inPort").GetString() == "vm1" && f.GetProperty("dstPort").GetInt32() == 53 && f.GetProperty("packets").GetInt32() == 1);
        Client("flows").Should().Contain("in_port(vm1),vni(100),ipv4(src=10.1.0.1,dst=10.1.0.2,proto=udp),udp(src=5000,dst=53), packets:1,");
    }

    [Fact]
    public void Conntrack_Json_OneConnectionPerLine()
    {
        var connections = JsonLines(Client("conntrack", "--json"));
        connections.Should().HaveCount(4, "udp vm1→vm2, tcp to vm3, tcp to the VIP, udp to vm5");
        connections.Select(c => c.GetProperty("state").GetString()).Should().Contain(["REPLIED", "SYN_SENT", "UNREPLIED"]);
    }

    [Fact]
    public void PolicyStatus_NamesTheCommitInForce()
    {
        var status = JsonDocument.Parse(Client("policy", "status", "--json")).RootElement;
        status.GetProperty("source").GetString().Should().Be("git");
        status.GetProperty("current").GetProperty("commit").GetString().Should().Be(fixture.First, "the second commit was never checked");
        status.GetProperty("current").GetProperty("kind").GetString().Should().Be("initial");
        status.GetProperty("lastRejected").ValueKind.Should().Be(JsonValueKind.Null);
        Client("policy", "status").Should().Contain($"in force: ").And.Contain($"initial {fixture.First} first policy");
    }

    [Fact]
    public void PolicyDiff_TwoCommits_ShowsTheChangeAndItsEffectOnLiveFlows()
    {
        string output = Client("policy", "diff", fixture.First, fixture.Second, "--repo", Agent.RepositoryPath);
        output.Should().Contain($"--- {fixture.First} (").And.Contain($"+++ {fixture.Second} (");
        output.Should().MatchRegex(@"~ acl\.rules: \[.*\] -> \[.*""protocol"":""udp"",""srcPorts"":null,""dstPorts"":""53""");
        output.Should().Contain("live flows (agent at").And.Contain("4 connections: 3 unchanged, 0 updated, 1 removed");
        output.Should().Contain("removed REPLIED").And.Contain("drop: acl");
        var report = JsonDocument.Parse(Client("policy", "diff", fixture.First, fixture.Second, "--repo", Agent.RepositoryPath, "--json")).RootElement;
        report.GetProperty("changes").EnumerateArray().Should().ContainSingle().Which.GetProperty("path").GetString().Should().Be("acl.rules");
        report.GetProperty("live").GetProperty("removed").GetInt32().Should().Be(1);
        // A preview changes nothing.
        JsonLines(Client("conntrack", "--json")).Should().HaveCount(4);
    }

    [Fact]
    public void PolicyDiff_TwoFilesWithoutAgent_ShowsTheDocumentChangeOnly()
    {
        string a = Path.Combine(Agent.TempPath, "a.yaml"), b = Path.Combine(Agent.TempPath, "b.yaml");
        File.WriteAllText(a, TraceCommandTests.Policy);
        File.WriteAllText(b, WithDnsDenied());
        var (code, output, err) = OffloadProcess.Run("policy", "diff", a, b, "--socket", Path.Combine(Agent.TempPath, "nobody.sock"));
        code.Should().Be(0, err);
        output.Should().Contain("~ acl.rules: ").And.Contain("\"dstPorts\":\"53\"").And.Contain("live flows: not shown (no agent at");
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void Socket_IsOwnerOnly_InAFolderOthersCannotEnter()
    {
        File.GetUnixFileMode(Agent.Socket).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var folder = File.GetUnixFileMode(Path.GetDirectoryName(Agent.Socket)!);
        (folder & (UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute | UnixFileMode.GroupWrite)).Should().Be(UnixFileMode.None);
    }

    [Fact]
    public void SecondAgentOnTheSameSocket_Refused_FirstKeepsServing()
    {
        string file = Path.Combine(Agent.TempPath, "second.yaml");
        File.WriteAllText(file, TraceCommandTests.Policy);
        var (code, _, err) = OffloadProcess.Run("run", "--policy", file, "--socket", Agent.Socket);
        code.Should().Be(1);
        err.Trim().Split('\n').Should().ContainSingle().Which.Should().Be($"offload: another agent is listening on {Agent.Socket}");
        JsonLines(Client("stats", "--json")).Single().GetProperty("frames").GetInt32().Should().Be(9);
    }

    [Fact]
    public void MalformedRequests_GetErrorReplies_AndTheAgentStaysUp()
    {
        var replies = Converse("not json\n{\"v\":1}\n{\"v\":9,\"cmd\":\"stats\"}\n{\"v\":1,\"cmd\":\"reboot\"}\n[1,2]\n{\"v\":1,\"cmd\":\"hello\"}\n", 6);
        replies.Select(r => r.TryGetProperty("code", out var c) ? c.GetString() : null).Should().Equal("bad-request", "bad-request", "version", "unknown-command", "bad-request", null);
        replies[^1].GetProperty("result").GetProperty("version").GetInt32().Should().Be(1);

        var tooLarge = Converse(new string('x', (1 << 20) + 10), 1);
        tooLarge[0].GetProperty("code").GetString().Should().Be("too-large");

        Agent.Agent.HasExited.Should().BeFalse();
        JsonLines(Client("stats", "--json")).Single().GetProperty("frames").GetInt32().Should().Be(9);
    }

    [Fact]
    public void PolicyPreviewRequest_ARefOfTheFollowedRepository_CountsWhatItWouldRemove()
    {
        string request = $"{{\"v\":1,\"cmd\":\"policy-preview\",\"args\":{{\"ref\":\"{fixture.Second}\",\"samples\":5}}}}\n";
        var result = Converse(request, 1)[0].GetProperty("result");
        result.GetProperty("policy").GetString().Should().StartWith(fixture.Second[..7]);
        result.GetProperty("checked").GetInt32().Should().Be(4);
        result.GetProperty("removed").GetInt32().Should().Be(1);
        var sample = result.GetProperty("samples").EnumerateArray().Single();
        sample.GetProperty("change").GetString().Should().Be("removed");
        sample.GetProperty("after").GetString().Should().Be("drop: acl");

        var missing = Converse("{\"v\":1,\"cmd\":\"policy-preview\",\"args\":{\"ref\":\"no-such-branch\"}}\n", 1)[0];
        missing.GetProperty("ok").GetBoolean().Should().BeFalse();
        missing.GetProperty("code").GetString().Should().Be("not-found");
    }

    private List<JsonElement> Converse(string send, int replies)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Connect(new UnixDomainSocketEndPoint(Agent.Socket));
        socket.ReceiveTimeout = 15_000;
        using var stream = new NetworkStream(socket);
        stream.Write(Encoding.UTF8.GetBytes(send));
        using var reader = new StreamReader(stream);
        var result = new List<JsonElement>();
        for (int i = 0; i < replies; i++)
        {
            var root = JsonDocument.Parse(reader.ReadLine() ?? throw new EndOfStreamException("the agent closed the connection")).RootElement.Clone();
            root.GetProperty("v").GetInt32().Should().Be(1);
            if (!root.GetProperty("ok").GetBoolean())
                root.GetProperty("error").GetString().Should().NotBeNullOrEmpty();
            result.Add(root);
        }
        return result;
    }
}
