using System.Text.Json;

namespace Offload.Cli.Tests;

/// <summary><c>offload run</c> following a repository: new commits, a bad commit, rollback, SIGTERM, bad arguments.</summary>
public sealed class AgentLifecycleTests : IDisposable
{
    private readonly AgentHarness _agent = new();

    public void Dispose() => _agent.Dispose();

    private (int Code, string Out, string Err) Client(params string[] args) => OffloadProcess.Run([.. args, "--socket", _agent.Socket]);

    private JsonElement Status()
    {
        var (code, output, err) = Client("policy", "status", "--json");
        code.Should().Be(0, err);
        return JsonDocument.Parse(output).RootElement;
    }

    [Fact]
    public void PolicyCheck_NewCommitApplied_BadCommitRejected_RollbackRestores()
    {
        string first = _agent.Commit(TraceCommandTests.Policy, "first policy");
        _agent.Start();

        string second = _agent.Commit(AgentCommandTests.WithDnsDenied(), "deny DNS in blue");
        var (code, output, err) = Client("policy", "check");
        code.Should().Be(0, err);
        output.Should().Contain($"applied {second} deny DNS in blue: 0 connections updated, 1 removed");
        Status().GetProperty("current").GetProperty("commit").GetString().Should().Be(second);
        _agent.WaitForLog("policy update", second);

        // A bad commit, picked up on SIGHUP: rejected with the precise error, the second stays in force.
        string bad = _agent.Commit(TraceCommandTests.Policy.Replace("name: vm3, network: blue", "name: vm3, network: green", StringComparison.Ordinal), "typo");
        _agent.Signal("HUP");
        _agent.WaitForLog("rejected", bad, "ports[2].network");
        var status = Status();
        status.GetProperty("current").GetProperty("commit").GetString().Should().Be(second);
        status.GetProperty("lastRejected").GetProperty("commit").GetString().Should().Be(bad);
        status.GetProperty("lastRejected").GetProperty("errors")[0].GetString().Should().StartWith($"policy.yaml@{bad[..7]}").And.Contain("ports[2].network");
        _agent.Agent.HasExited.Should().BeFalse("SIGHUP re-reads the policy, it does not stop the agent");

        (code, output, err) = Client("policy", "rollback", first);
        code.Should().Be(0, err);
        output.Should().StartWith($"applied {first} first policy");
        status = Status();
        status.GetProperty("current").GetProperty("commit").GetString().Should().Be(first);
        status.GetProperty("current").GetProperty("kind").GetString().Should().Be("rollback");
        status.GetProperty("history").GetArrayLength().Should().Be(3, "initial, update, rollback");

        (code, _, err) = Client("policy", "rollback", "no-such-ref");
        code.Should().Be(1);
        err.Trim().Split('\n').Should().ContainSingle().Which.Should().StartWith("offload: rollback failed: ");
    }

    [Fact]
    public void Poll_NewCommit_AppliedWithoutBeingAsked()
    {
        _agent.Commit(TraceCommandTests.Policy, "first policy");
        _agent.Poll = "500ms";
        _agent.Start();
        string second = _agent.Commit(AgentCommandTests.WithDnsDenied(), "deny DNS in blue");
        _agent.WaitForLog("policy update", second, "1 removed");
        Status().GetProperty("current").GetProperty("commit").GetString().Should().Be(second);
    }

    [Fact]
    public void Sigterm_StopsTheAgentCleanly_ExitZero_SocketRemoved()
    {
        _agent.Commit(TraceCommandTests.Policy, "first policy");
        _agent.Start();
        File.Exists(_agent.Socket).Should().BeTrue();

        _agent.Signal("TERM");
        _agent.Agent.WaitForExit(20_000).Should().BeTrue("SIGTERM stops the host");
        _agent.Agent.ExitCode.Should().Be(0, _agent.Log);
        File.Exists(_agent.Socket).Should().BeFalse("the agent removes its socket");
        _agent.Log.Should().Contain("Offload stopped after 9 frames");
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void Socket_PeerNeitherRootNorOwner_IsRefusedEvenWhenTheFileModeLetsItIn()
    {
        // Needs root to act as another user; CI runs these tests as root.
        if (Environment.UserName != "root" || !File.Exists("/usr/bin/setpriv") || !File.Exists("/usr/bin/python3"))
            return;
        _agent.Commit(TraceCommandTests.Policy, "first policy");
        _agent.Start();
        // Open the file modes wide so only the SO_PEERCRED check stands between user nobody and the agent.
        File.SetUnixFileMode(_agent.TempPath, (UnixFileMode)0x1ED); // 0755
        File.SetUnixFileMode(Path.GetDirectoryName(_agent.Socket)!, (UnixFileMode)0x1ED);
        File.SetUnixFileMode(_agent.Socket, (UnixFileMode)0x1B6); // 0666
        const string Script = "import socket,sys\ns=socket.socket(socket.AF_UNIX)\ns.connect(sys.argv[1])\ns.sendall(b'{\"v\":1,\"cmd\":\"stats\"}\\n')\nprint(s.makefile().readline().strip())";
        var (code, output, err) = OffloadProcess.Tool("/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c", Script, _agent.Socket);
        code.Should().Be(0, err);
        var reply = JsonDocument.Parse(output).RootElement;
        reply.GetProperty("ok").GetBoolean().Should().BeFalse();
        reply.GetProperty("code").GetString().Should().Be("forbidden");
        _agent.WaitForLog("control connection refused: peer uid 65534");
        Client("stats", "--json").Code.Should().Be(0, "root is still served");
    }

    [Fact]
    public void StaleSocketOfAKilledAgent_IsReplacedByTheNextAgent()
    {
        _agent.Commit(TraceCommandTests.Policy, "first policy");
        _agent.Start();
        _agent.Agent.Kill();
        _agent.Agent.WaitForExit(10_000).Should().BeTrue();
        File.Exists(_agent.Socket).Should().BeTrue("SIGKILL leaves the socket file behind");

        _agent.Start();
        var (code, output, err) = Client("stats", "--json");
        code.Should().Be(0, err);
        JsonDocument.Parse(output).RootElement.GetProperty("frames").GetInt32().Should().Be(9);
    }

    [Fact]
    public void Run_BadArguments_OneLineOnStderr()
    {
        var (code, _, err) = OffloadProcess.Run("run", "--policy", Path.Combine(_agent.TempPath, "absent"));
        code.Should().Be(1);
        err.Trim().Split('\n').Should().ContainSingle().Which.Should().StartWith("offload: policy ").And.Contain("no such repository");

        _agent.Commit("host: {", "broken from the start");
        (code, _, err) = OffloadProcess.Run("run", "--policy", _agent.RepositoryPath, "--socket", _agent.Socket);
        code.Should().Be(1);
        err.Should().StartWith("offload: the policy at commit ").And.Contain("is invalid: policy.yaml@");

        string file = Path.Combine(_agent.TempPath, "p.yaml");
        File.WriteAllText(file, TraceCommandTests.Policy);
        (code, _, err) = OffloadProcess.Run("run", "--policy", file, "--socket", _agent.Socket, "--backend", "doca");
        code.Should().Be(1);
        err.Trim().Split('\n').Should().ContainSingle().Which.Should().StartWith("offload: the agent could not start: ").And.Contain("backend 'doca' cannot be used");

        (code, _, err) = OffloadProcess.Run("run", "--policy", _agent.RepositoryPath, "--poll", "soon");
        code.Should().Be(2);
        err.Trim().Should().Be("offload: --poll 'soon' is not an interval (e.g. 30s, 500ms, 5m)");
    }

    [Fact]
    public void Flows_NoAgent_SaysSoInOneLine()
    {
        var (code, output, err) = OffloadProcess.Run("flows", "--socket", Path.Combine(_agent.TempPath, "nobody.sock"));
        code.Should().Be(1);
        output.Should().BeEmpty();
        err.Trim().Split('\n').Should().ContainSingle().Which.Should().StartWith($"offload: no agent at {Path.Combine(_agent.TempPath, "nobody.sock")}");
    }
}
