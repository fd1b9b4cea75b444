using System.Diagnostics;
using System.Text.Json;
using Offload.Tests.Policy.Git;

namespace Offload.Cli.Tests;

/// <summary><c>offload run --policy http://…</c> against a real git smart-HTTP server that wants Basic authentication.</summary>
[Collection(HeavyAgentTests.Name)]
public sealed class AgentGitAuthTests : IDisposable
{
    private const string User = "agent";
    private const string Secret = "t0ken-for-policy";
    private readonly AgentHarness _agent = new();

    public void Dispose() => _agent.Dispose();

    private GitHttpServer Serve() => new(Path.GetDirectoryName(_agent.RepositoryPath)!, User, Secret);

    private string Url(GitHttpServer server) => server.Url(Path.GetFileName(_agent.RepositoryPath));

    private static (int Code, string Err) RunAgent(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var start = OffloadProcess.StartInfo(args);
        foreach (var (name, value) in environment)
            start.Environment[name] = value;
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit(60_000).Should().BeTrue("a refused agent exits at once");
        return (process.ExitCode, stderr.Result);
    }

    [Fact]
    public void Run_HttpsRepositoryWithCredentialsFromTheEnvironment_PolicyLoaded()
    {
        if (!GitHttpServer.IsAvailable)
            return;
        string commit = _agent.Commit(TraceCommandTests.Policy, "first policy");
        using var server = Serve();
        _agent.Environment["OFFLOAD_GIT_USERNAME"] = User;
        _agent.Environment["OFFLOAD_GIT_PASSWORD"] = Secret;
        _agent.Environment["LOCALAPPDATA"] = _agent.TempPath;
        _agent.Environment["XDG_DATA_HOME"] = _agent.TempPath;

        _agent.StartWith(Url(server));

        var (code, output, err) = OffloadProcess.Run("policy", "status", "--json", "--socket", _agent.Socket);
        code.Should().Be(0, err);
        output.Should().Contain(commit);
        server.Refused.Should().BeGreaterThan(0, "the server asked for the credentials");
        _agent.Log.Should().NotContain(Secret);
    }

    [Fact]
    public void Run_WrongPassword_OneLineSayingTheServerRefusedTheUser()
    {
        if (!GitHttpServer.IsAvailable)
            return;
        _agent.Commit(TraceCommandTests.Policy, "first policy");
        using var server = Serve();
        var environment = new Dictionary<string, string>
        {
            ["OFFLOAD_GIT_USERNAME"] = User, ["OFFLOAD_GIT_PASSWORD"] = "not-" + Secret, ["XDG_DATA_HOME"] = _agent.TempPath,
        };

        var (code, err) = RunAgent(environment, "run", "--policy", Url(server), "--socket", _agent.Socket);

        code.Should().Be(1);
        err.Trim().Split('\n').Should().ContainSingle().Which.Should().Be(
            $"offload: policy {Url(server)}: {Url(server)}: clone failed: authentication failed: the server refused user 'agent' from " +
            "the environment (OFFLOAD_GIT_USERNAME, OFFLOAD_GIT_PASSWORD) (HTTP 401); check the username and password or token");
        err.Should().NotContain(Secret);
    }

    [Fact]
    public void Run_CredentialsFileOthersMayRead_Refused()
    {
        if (OperatingSystem.IsWindows())
            return;
        string file = Path.Combine(_agent.TempPath, "git-credentials");
        File.WriteAllText(file, "https://agent:x@git.example.test\n");
        File.SetUnixFileMode(file, (UnixFileMode)0x1A4); // 0644

        var (code, err) = RunAgent(new Dictionary<string, string>(), "run", "--policy", "https://git.example.test/policy.git",
            "--socket", _agent.Socket, "--git-credentials", file);

        code.Should().Be(1);
        err.Trim().Should().Be($"offload: policy https://git.example.test/policy.git: git credentials file {file} may be read or written by other users (mode 644): chmod 600 it");
    }

    [Fact]
    public void Run_PasswordInTheUrl_MaskedInTheError()
    {
        var (code, err) = RunAgent(new Dictionary<string, string>(), "run", "--policy", "http://agent:hunter2@127.0.0.1:9/policy.git", "--socket", _agent.Socket);

        code.Should().Be(1);
        err.Should().Contain("http://agent:***@127.0.0.1:9/policy.git").And.NotContain("hunter2");
    }
}
