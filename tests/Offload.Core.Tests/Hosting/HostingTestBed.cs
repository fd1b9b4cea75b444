using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using Offload.Backends;
using Offload.Datapath;
using Offload.Flows;
using Offload.Hosting;
using Offload.Packets;
using Offload.Policy;
using Offload.Switching;
using Offload.Tests.Datapath;
using Offload.Tests.Switching;

namespace Offload.Tests.Hosting;

/// <summary>A real generic host with AddOffload, a fake clock, fake logging and a collecting sink.</summary>
internal sealed class HostingTestBed : IAsyncDisposable
{
    private HostingTestBed(IHost host, FakeTimeProvider time, CollectingSink sink)
    {
        Host = host;
        Time = time;
        Sink = sink;
    }

    public IHost Host { get; }

    public FakeTimeProvider Time { get; }

    public CollectingSink Sink { get; }

    public OffloadRuntime Runtime => Host.Services.GetRequiredService<OffloadRuntime>();

    public FakeLogCollector Logs => Host.Services.GetFakeLogCollector();

    public static PolicySnapshot Policy(string? yaml = null) => SwitchTestBed.Load(yaml ?? SwitchTestBed.PolicyYaml);

    /// <summary>Builds the host (not started).</summary>
    public static HostingTestBed Build(Action<OffloadOptions>? configure = null, Action<IOffloadBuilder>? builder = null)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));
        var sink = new CollectingSink();
        var hb = Microsoft.Extensions.Hosting.Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        hb.Services.AddLogging(l => l.AddFakeLogging().SetMinimumLevel(LogLevel.Debug));
        hb.Services.AddSingleton<TimeProvider>(time);
        var offload = hb.Services.AddOffload(o =>
        {
            o.Policy = Policy();
            o.FlowCapacity = 4096;
            o.PollInterval = TimeSpan.FromSeconds(1);
            configure?.Invoke(o);
        }).UseFrameSink(sink);
        builder?.Invoke(offload);
        return new HostingTestBed(hb.Build(), time, sink);
    }

    public static async Task<HostingTestBed> StartAsync(Action<OffloadOptions>? configure = null, Action<IOffloadBuilder>? builder = null)
    {
        var bed = Build(configure, builder);
        await bed.Host.StartAsync();
        return bed;
    }

    public ushort Port(string name) => Runtime.Ports.TryGet(name, out var n) ? n : throw new KeyNotFoundException(name);

    public FrameResult Send(string port, byte[] frame)
    {
        int before = Sink.Frames.Count;
        var input = new[] { new InputFrame(PacketBuffer.CopyOf(frame), Port(port), before) };
        Runtime.Process(input);
        Sink.Frames.Count.Should().Be(before + 1);
        return Sink.Last.Result;
    }

    /// <summary>vm1 → vm5 (blue → red, peered, both local): forwarded; then the reply.</summary>
    public static byte[] UdpVm1ToVm5(ushort sport = 5000) => TestSupport.FrameBuilder.UdpFrame("10.1.0.1", sport, "10.2.0.5", 53);

    public static byte[] UdpVm5ToVm1(ushort dport = 5000) => TestSupport.FrameBuilder.UdpFrame("10.2.0.5", 53, "10.1.0.1", dport);

    /// <summary>SSH inside blue: denied by the ACL.</summary>
    public static byte[] SshVm1ToVm2() => TestSupport.FrameBuilder.TcpFrame("10.1.0.1", 40000, "10.1.0.2", 22);

    public async ValueTask DisposeAsync()
    {
        await Host.StopAsync();
        Host.Dispose();
    }
}

/// <summary>A hardware backend stand-in named "doca": accepts every operation, health set by the test.</summary>
internal sealed class FakeHardwareBackend : FlowBackend
{
    public override string Name => "doca";

    public override BackendCapabilities Capabilities { get; } =
        new(1024, 64, MatchCapabilities.All, ActionCapabilities.All, SupportsConntrack: false, SupportsAging: false, SupportsCounters: false);

    public override int Count => 0;

    public bool Disposed { get; private set; }

    public void Fail(string reason) => SetHealth(BackendHealth.Failed, reason);

    public override SubmitStatus TrySubmit(in FlowOperation operation) => SubmitStatus.Unavailable;

    public override int PollCompletions(Span<FlowCompletion> completions) => 0;

    public override bool TryQueryCounters(in FlowKey key, out FlowStats stats)
    {
        stats = default;
        return false;
    }

    protected override void Dispose(bool disposing)
    {
        Disposed = true;
        base.Dispose(disposing);
    }
}

internal sealed class FakeDocaFactory(string? notSupportedReason = null) : IOffloadBackendFactory
{
    public string Name => "doca";

    public string? NotSupportedReason { get; } = notSupportedReason;

    public FakeHardwareBackend? Created { get; private set; }

    public FlowBackend Create(OffloadComponentContext context) => Created = new FakeHardwareBackend();
}

/// <summary>A "kernel" slow-path factory that hands out the real policy slow path over the runtime's port numbers:
/// proves the factory route builds a working datapath without a kernel.</summary>
internal sealed class PolicyBackedSlowPathFactory : IOffloadSlowPathFactory
{
    public string Name => "kernel";

    public string? NotSupportedReason => null;

    public int PoliciesApplied { get; private set; }

    public ISlowPath Create(OffloadComponentContext context) => new PolicySlowPath(context.Policy, context.Ports);

    public void ApplyPolicy(ISlowPath slowPath, PolicySnapshot policy)
    {
        ((PolicySlowPath)slowPath).Apply(policy);
        PoliciesApplied++;
    }
}
