using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Offload.Actions;
using Offload.Backends;
using Offload.Doca.Backends;
using Offload.Doca.Hosting;
using Offload.Doca.Tests.Flow;
using Offload.Hosting;
using Offload.Flows;
using Offload.Packets;
using Offload.Policy;

namespace Offload.Doca.Tests.Hosting;

[Collection(EmulatorCollection.Name)]
public sealed class DocaHostingTests : IDisposable
{
    private const string Policy = """
        host: { name: host-a, underlay: { ip: 192.0.2.10, mac: "02:00:00:00:0a:01" }, gatewayMac: "02:00:00:00:ff:fe" }
        networks:
          - { name: blue, vni: 100, cidr: 10.1.0.0/16, tunnel: vxlan }
        ports:
          - { name: vm1, network: blue, mac: "02:00:00:01:00:01", ip: 10.1.0.1, host: host-a }
          - { name: vm2, network: blue, mac: "02:00:00:01:00:02", ip: 10.1.0.2, host: host-a }
        """;

    private IHost? _host;

    public DocaHostingTests(EmulatorFixture fixture)
    {
        _ = fixture;
        EmulatorControl.Reset();
    }

    public void Dispose()
    {
        _host?.Dispose();
        EmulatorControl.Reset();
    }

    private OffloadRuntime Build(OffloadBackendKind kind, Action<IOffloadBuilder> register)
    {
        var hb = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        hb.Services.AddLogging(l => l.AddFakeLogging().SetMinimumLevel(LogLevel.Debug));
        hb.Services.AddSingleton<TimeProvider>(new FakeTimeProvider(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero)));
        var load = PolicyLoader.Load(Policy);
        register(hb.Services.AddOffload(o =>
        {
            o.Policy = load.Snapshot;
            o.Backend = kind;
            o.FlowCapacity = 4096;
        }));
        _host = hb.Build();
        return _host.Services.GetRequiredService<OffloadRuntime>();
    }

    private FakeLogCollector Logs => _host!.Services.GetFakeLogCollector();

    [Theory]
    [InlineData(OffloadBackendKind.Doca)]
    [InlineData(OffloadBackendKind.Auto)]
    public void AddDoca_DocaPresent_RuntimeStartsOnTheDocaBackendWithEveryLocalPortAndTheUplink(OffloadBackendKind kind)
    {
        var runtime = Build(kind, b => b.AddDoca(o =>
        {
            o.MaxFlows = 512;
            o.ConnectionTracking = true;
        }));

        runtime.Start();

        var backend = runtime.HardwareBackend.Should().BeOfType<ResilientOffloadBackend>().Subject;
        runtime.BackendName.Should().Be(backend.Name);
        backend.Hardware.Capabilities.SupportsConntrack.Should().BeTrue();
        backend.Hardware.Capabilities.MaxFlows.Should().Be(512);
        var action = new FlowAction(ActionProgram.CreateBuilder().Output(1).Build());
        foreach (string port in new[] { "vm1", "vm2" })
        {
            runtime.Ports.TryGet(port, out ushort n).Should().BeTrue();
            var key = new FlowKey(NetAddress.Parse("10.1.0.1"), 1, NetAddress.Parse("10.1.0.2"), 2, IpProtocol.Udp, n, 100);
            backend.Hardware.GetUnsupportedReason(key, action).Should().BeNull($"{port} has a DOCA port carrying its network");
        }
        runtime.Stop();
    }

    [Fact]
    public void AddDoca_RuntimeStopped_DocaReleasedForTheNextStart()
    {
        var runtime = Build(OffloadBackendKind.Doca, b => b.AddDoca());
        runtime.Start();
        runtime.Stop();

        using var again = new DocaBackend();
        again.Health.Should().Be(BackendHealth.Healthy, "DOCA allows one initialisation per process: the runtime released it");
    }

    [Fact]
    public void AddDoca_NoSoftwareFallback_BareDocaBackend()
    {
        var runtime = Build(OffloadBackendKind.Doca, b => b.AddDoca(o => o.SoftwareFallback = false));

        runtime.Start();

        runtime.HardwareBackend.Should().BeOfType<DocaBackend>();
        runtime.Stop();
    }

    [Fact]
    public void AddDoca_AutoWithoutDoca_SoftwareBackendAndTheReasonLogged()
    {
        var factory = new DocaBackendFactory(new DocaHostingOptions(), () => "libdoca_flow.so.2 not found");
        var runtime = Build(OffloadBackendKind.Auto, b => b.AddBackendFactory(factory));

        runtime.Start();

        runtime.HardwareBackend.Should().BeNull();
        runtime.BackendName.Should().Be("software");
        Logs.GetSnapshot().Should().Contain(r => r.Id.Name == "BackendFallback" && r.Message.Contains("libdoca_flow.so.2 not found"));
        runtime.Stop();
    }

    [Fact]
    public void AddDoca_DocaRequiredWithoutDoca_StartFailsWithTheReason()
    {
        var factory = new DocaBackendFactory(new DocaHostingOptions(), () => "no DOCA device");
        var runtime = Build(OffloadBackendKind.Doca, b => b.AddBackendFactory(factory));

        var start = () => runtime.Start();

        start.Should().Throw<OffloadStartupException>().WithMessage("*no DOCA device*");
    }

    [Fact]
    public void AddDoca_CalledTwice_OneFactoryAndBothConfigurationsApplied()
    {
        Build(OffloadBackendKind.Doca, b => b.AddDoca(o => o.MaxFlows = 100).AddDoca(o => o.Queues = 2));

        _host!.Services.GetServices<IOffloadBackendFactory>().Should().ContainSingle().Which.Should().BeOfType<DocaBackendFactory>();
        var options = _host.Services.GetRequiredService<IOptions<DocaHostingOptions>>().Value;
        options.MaxFlows.Should().Be(100);
        options.Queues.Should().Be(2);
    }

    [Fact]
    public void NotSupportedReason_ProbeThrows_ReasonInsteadOfAnException()
    {
        var factory = new DocaBackendFactory(new DocaHostingOptions(), () => throw new DllNotFoundException("boom"));

        factory.NotSupportedReason.Should().Contain("boom");
    }
}
