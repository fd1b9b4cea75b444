namespace Offload.Cli.Tests;

/// <summary><c>offload run --slow-path policy|kernel</c>: the choice is checked before anything starts.</summary>
public sealed class RunSlowPathTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("offload-slowpath-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string PolicyFile()
    {
        string file = Path.Combine(_folder, "p.yaml");
        File.WriteAllText(file, TraceCommandTests.Policy);
        return file;
    }

    [Fact]
    public void Run_UnknownSlowPath_BadArgumentsNamingTheChoices()
    {
        var (code, output, err) = OffloadProcess.Run("run", "--policy", PolicyFile(), "--socket", Path.Combine(_folder, "a.sock"), "--slow-path", "bpf");

        code.Should().Be(2, err);
        output.Should().BeEmpty();
        err.Should().Contain("bpf").And.Contain("kernel").And.Contain("policy");
    }

    [RootFact]
    public void Run_KernelSlowPathNotRoot_OneLineReasonBeforeStart()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists("/usr/bin/setpriv"))
            return;
        File.SetUnixFileMode(_folder, (UnixFileMode)0x1FF); // 0777: user nobody reads the policy and may create the socket
        string policy = PolicyFile();
        string socket = Path.Combine(_folder, "nobody.sock");
        string dll = Path.Combine(AppContext.BaseDirectory, "offload.dll");

        var (code, _, err) = OffloadProcess.Tool("/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
            "env", "HOME=/tmp", "DOTNET_CLI_HOME=/tmp", "dotnet", dll, "run", "--policy", policy, "--socket", socket, "--slow-path", "kernel");

        code.Should().Be(1, err);
        err.Trim().Split('\n').Should().ContainSingle().Which.Should()
            .StartWith("offload: the agent could not start: slow path 'kernel' cannot be used: ").And.Contain("root");
        File.Exists(socket).Should().BeFalse("nothing was started");
    }
}
