using System.Diagnostics;
using System.Text.Json;

namespace Offload.Cli.Tests;

/// <summary><c>offload run --backend software|doca|auto</c>: which backend carries the replayed traffic.</summary>
public sealed class RunBackendTests : IDisposable
{
    private const string NativeDirectory = "OFFLOAD_DOCA_NATIVE_DIR";

    private readonly AgentHarness _agent = new();

    public void Dispose() => _agent.Dispose();

    private string PolicyFile()
    {
        string file = Path.Combine(_agent.TempPath, "p.yaml");
        File.WriteAllText(file, TraceCommandTests.Policy);
        return file;
    }

    private JsonElement Json(params string[] args)
    {
        var (code, output, err) = OffloadProcess.Run([.. args, "--json", "--socket", _agent.Socket]);
        code.Should().Be(0, err);
        return JsonDocument.Parse(output).RootElement;
    }

    // The replay has ended when the agent says so; flows are installed on the runtime's next polls.
    private JsonElement BackendOnceInstalled()
    {
        var watch = Stopwatch.StartNew();
        JsonElement backend;
        do
        {
            backend = Json("stats").GetProperty("backend");
            if (backend.GetProperty("installed").GetInt64() > 0)
                break;
            Thread.Sleep(100);
        }
        while (watch.Elapsed < TimeSpan.FromSeconds(20));
        return backend;
    }

    [Fact]
    public async Task Run_DocaWithoutTheLibrary_OneLineReasonAndStartupExitCode()
    {
        var start = OffloadProcess.StartInfo("run", "--policy", PolicyFile(), "--socket", _agent.Socket, "--backend", "doca");
        start.Environment.Remove(NativeDirectory);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        string err = await process.StandardError.ReadToEndAsync();
        process.WaitForExit(60_000).Should().BeTrue();
        string output = await stdout;

        process.ExitCode.Should().Be(1, "as for the agent's other start-up errors");
        output.Should().BeEmpty();
        err.Trim().Split('\n').Should().ContainSingle().Which.Should()
            .StartWith("offload: the agent could not start: backend 'doca' cannot be used: ").And.Contain("not found");
        File.Exists(_agent.Socket).Should().BeFalse("nothing was started");
    }

    [Fact]
    public void Run_AutoWithoutDoca_SoftwareBackendCarriesTheTraffic()
    {
        _agent.Environment[NativeDirectory] = "";
        _agent.StartWith(PolicyFile(), "--backend", "auto");

        Json("policy", "status").GetProperty("backend").GetString().Should().Be("software");
        var backend = BackendOnceInstalled();
        backend.GetProperty("name").GetString().Should().Be("software");
        backend.GetProperty("installed").GetInt64().Should().BeGreaterThan(0);
        backend.GetProperty("flows").GetInt64().Should().Be(backend.GetProperty("hostTableFlows").GetInt64());
        _agent.WaitForLog("Backend 'auto': using software because", "not found");
    }

    [DocaEmulatorFact]
    public void Run_DocaOnTheEmulator_FlowsInstalledInTheDevice()
    {
        _agent.Environment[NativeDirectory] = DocaEmulator.Directory!;
        _agent.StartWith(PolicyFile(), "--backend", "doca");

        string name = Json("policy", "status").GetProperty("backend").GetString()!;
        name.Should().Contain("doca");
        var backend = BackendOnceInstalled();
        backend.GetProperty("name").GetString().Should().Be(name);
        backend.GetProperty("installed").GetInt64().Should().BeGreaterThan(0);
        backend.GetProperty("flows").GetInt64().Should().BeGreaterThan(backend.GetProperty("hostTableFlows").GetInt64(),
            "flows installed through the DOCA backend are held by the device, not the host table");
    }

    [DocaEmulatorFact]
    public void Flows_DocaOnTheEmulator_ListsTheDeviceHeldFlowsWithTheirPlacement()
    {
        _agent.Environment[NativeDirectory] = DocaEmulator.Directory!;
        _agent.StartWith(PolicyFile(), "--backend", "doca");
        var backend = BackendOnceInstalled();
        long hostTable = backend.GetProperty("hostTableFlows").GetInt64();

        var (code, output, err) = OffloadProcess.Run(["flows", "--json", "--socket", _agent.Socket]);
        code.Should().Be(0, err);
        var rows = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();

        var onDevice = rows.Where(r => r.GetProperty("placement").GetString() == "device").ToList();
        onDevice.Should().NotBeEmpty("the device holds flows the host table does not list");
        onDevice.Should().OnlyContain(r => r.GetProperty("notOffloaded").ValueKind == JsonValueKind.Null
            || r.GetProperty("notOffloaded").GetString() == "pending");
        rows.Should().OnlyContain(r => r.GetProperty("placement").GetString() == "device" || r.GetProperty("placement").GetString() == "software");
        rows.Count.Should().BeGreaterThan((int)hostTable, "device-held flows are listed, not only the host table");
        onDevice.Should().OnlyContain(r => r.GetProperty("actions").GetString()!.Length > 0);

        var text = OffloadProcess.Run(["flows", "--socket", _agent.Socket]);
        text.ExitCode.Should().Be(0, text.Err);
        text.Out.Should().Contain("placement:device, actions:");
    }
}
