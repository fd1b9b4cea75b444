using System.Text.Json;

namespace Offload.Cli.Tests;

/// <summary><c>offload run</c> with real interfaces: ports bound to veths in namespaces, and the checks made before it starts.</summary>
[Collection(HeavyAgentTests.Name)]
public sealed class AgentDeviceTests
{
    private static JsonElement Stats(DeviceLab lab)
    {
        var (code, output, err) = OffloadProcess.Run("stats", "--json", "--socket", lab.Socket);
        code.Should().Be(0, err);
        return JsonDocument.Parse(output).RootElement.Clone();
    }

    [RootFact]
    public void Run_PortsBoundToVeths_VmsTalkThroughTheAgentAndStatsCountPerPort()
    {
        using var lab = new DeviceLab();
        // vm1 by --port; vm2 by --devices from the policy's 'interface: vm-vm2'.
        lab.StartAgent("--port", "vm1=vm-vm1", "--devices");
        lab.WaitForLog("port vm1 bound to interface vm-vm1");
        lab.WaitForLog("port vm2 bound to interface vm-vm2");

        DeviceLab.Ping(lab.Vm1, "10.1.0.2", 3).Should().BeTrue("vm1 reaches vm2 through the agent's switch");
        var (sent, received) = DeviceLab.Tcp(lab.Vm2, "10.1.0.2", lab.Vm1, 256 * 1024);
        received.Should().Equal(sent, "the SHA-256 of what vm2 read equals that of what vm1 sent");

        var stats = Stats(lab);
        stats.GetProperty("fastPath").GetInt64().Should().BeGreaterThan(150, "256 KiB of segments after the handshake took the fast path");
        var vm1 = stats.GetProperty("ports").GetProperty("vm1");
        var vm2 = stats.GetProperty("ports").GetProperty("vm2");
        vm1.GetProperty("inBytes").GetInt64().Should().BeGreaterThan(256 * 1024);
        vm2.GetProperty("outBytes").GetInt64().Should().BeGreaterThan(256 * 1024);
        vm1.GetProperty("outFrames").GetInt64().Should().BeGreaterThan(3, "echo replies and ACKs came back");
        stats.GetProperty("out").GetProperty("vm2").GetInt64().Should().Be(vm2.GetProperty("outFrames").GetInt64());
        var device = stats.GetProperty("interfaces").GetProperty("vm2");
        device.GetProperty("interface").GetString().Should().Be("vm-vm2");
        device.GetProperty("sentFrames").GetInt64().Should().Be(vm2.GetProperty("outFrames").GetInt64(), "every frame the switch sent to vm2 left through vm-vm2");
        device.GetProperty("sendErrors").GetInt64().Should().Be(0);

        var (code, text, _) = OffloadProcess.Run("stats", "--socket", lab.Socket);
        code.Should().Be(0);
        text.Should().MatchRegex(@"(?m)^vm-vm1\s+vm1\s+\d+\s+\d+\s+0\s+0\s+\d+\s+-$");

        lab.Stop().Should().Be(0);
        lab.Log.Should().Contain("port vm2 (vm-vm2): ").And.Contain(" 0 errors");
    }

    [RootFact]
    public void Run_UnknownInterface_OneLineNamingIt()
    {
        using var lab = new DeviceLab();

        var (code, _, err) = OffloadProcess.Run("run", "--policy", lab.PolicyFile, "--socket", lab.Socket, "--port", "vm1=no-such-if0");

        code.Should().Be(1);
        err.Trim().Split('\n').Should().ContainSingle().Which.Should()
            .StartWith("offload: --port vm1=…: no network interface named 'no-such-if0' in this network namespace");
    }

    [RootFact]
    public void Run_PortNotInPolicy_ExitTwoNamingTheLocalPorts()
    {
        using var lab = new DeviceLab();

        var (code, _, err) = OffloadProcess.Run("run", "--policy", lab.PolicyFile, "--socket", lab.Socket, "--port", "vm9=lo");

        code.Should().Be(2);
        err.Trim().Should().Be("offload: --port vm9=lo: the policy has no port 'vm9' (local ports: vm1, vm2; the underlay is --uplink)");
    }

    [RootFact]
    public void Run_MalformedOrDuplicateBinding_ExitTwo()
    {
        using var lab = new DeviceLab();

        var malformed = OffloadProcess.Run("run", "--policy", lab.PolicyFile, "--socket", lab.Socket, "--port", "vm1");
        var twice = OffloadProcess.Run("run", "--policy", lab.PolicyFile, "--socket", lab.Socket, "--port", "vm1=lo", "--uplink", "lo");

        malformed.ExitCode.Should().Be(2);
        malformed.Err.Trim().Should().Be("offload: --port 'vm1': expected <port>=<interface>, e.g. vm1=vnet-vm1");
        twice.ExitCode.Should().Be(2);
        twice.Err.Trim().Should().Be("offload: --uplink lo: interface lo is bound to port vm1 already");
    }

    [RootFact]
    public void Run_NotRoot_SaysDeviceIoNeedsRoot()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists("/usr/bin/setpriv"))
            return;
        using var lab = new DeviceLab();
        File.SetUnixFileMode(Path.GetDirectoryName(lab.PolicyFile)!, (UnixFileMode)0x1ED); // 0755: user nobody reads the policy
        string dll = Path.Combine(AppContext.BaseDirectory, "offload.dll");

        var (code, _, err) = OffloadProcess.Tool("/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
            "env", "HOME=/tmp", "DOTNET_CLI_HOME=/tmp", "dotnet", dll, "run", "--policy", lab.PolicyFile, "--socket", "/tmp/offload-nobody.sock", "--port", "vm1=lo");

        code.Should().Be(1, err);
        err.Trim().Should().Be("offload: device I/O (--port, --uplink, --devices) needs root or CAP_NET_RAW to open packet sockets: run the agent as root");
    }
}
