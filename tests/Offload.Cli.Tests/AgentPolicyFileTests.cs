using System.Text.Json;

namespace Offload.Cli.Tests;

/// <summary><c>offload run --policy FILE</c>: the file re-read on SIGHUP and <c>policy check</c>; a broken file leaves the policy in force.</summary>
public sealed class AgentPolicyFileTests : IDisposable
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

    private int Connections()
    {
        var (code, output, err) = Client("conntrack", "--json");
        code.Should().Be(0, err);
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
    }

    [Fact]
    public void Sighup_RereadsTheFile_BrokenFileRejected_RollbackRefused()
    {
        string file = Path.Combine(_agent.TempPath, "policy.yaml");
        File.WriteAllText(file, TraceCommandTests.Policy);
        _agent.StartWith(file);
        string digest = Status().GetProperty("digest").GetString()!;
        Status().GetProperty("source").GetString().Should().Be("file");
        Connections().Should().Be(4);

        File.WriteAllText(file, AgentCommandTests.WithDnsDenied());
        _agent.Signal("HUP");
        _agent.WaitForLog("policy file", "re-read", "1 removed");
        Connections().Should().Be(3, "the new rule denies the DNS connection, which revalidation removed");
        string newDigest = Status().GetProperty("digest").GetString()!;
        newDigest.Should().NotBe(digest);

        File.WriteAllText(file, "host: {");
        var (code, _, err) = Client("policy", "check");
        code.Should().Be(1);
        err.Should().StartWith($"offload: check: {file} rejected, the policy in force stays: {file}: ");
        var status = Status();
        status.GetProperty("digest").GetString().Should().Be(newDigest);
        status.GetProperty("lastRejected").GetProperty("errors").GetArrayLength().Should().BeGreaterThan(0);

        (code, _, err) = Client("policy", "rollback", "HEAD~1");
        code.Should().Be(1);
        err.Trim().Should().StartWith("offload: agent: rollback needs a policy in git");
    }
}
