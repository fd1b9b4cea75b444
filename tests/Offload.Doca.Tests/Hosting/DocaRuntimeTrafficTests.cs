using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;
using Offload.Backends;
using Offload.Datapath;
using Offload.Doca.Backends;
using Offload.Doca.Hosting;
using Offload.Doca.Tests.Flow;
using Offload.Flows;
using Offload.Hosting;
using Offload.Packets;
using Offload.Policy;
using Offload.Switching;

namespace Offload.Doca.Tests.Hosting;

/// <summary>
/// Frames through the hosted runtime with <c>Backend = doca</c> on the emulator: the connection's flows are installed
/// in the device, not in the software table — with the policy slow path and with a slow path from a factory.
/// </summary>
[Collection(EmulatorCollection.Name)]
public sealed class DocaRuntimeTrafficTests : IDisposable
{
    private const string Policy = """
        host: { name: host-a, underlay: { ip: 192.0.2.10, mac: "02:00:00:00:0a:01" }, gatewayMac: "02:00:00:00:ff:fe" }
        networks:
          - { name: blue, vni: 100, cidr: 10.1.0.0/16, tunnel: vxlan }
        ports:
          - { name: vm1, network: blue, mac: "02:00:00:01:00:01", ip: 10.1.0.1, host: host-a }
          - { name: vm2, network: blue, mac: "02:00:00:01:00:02", ip: 10.1.0.2, host: host-a }
        """;

    private const uint Vm1Ip = 0x0A010001, Vm2Ip = 0x0A010002;
    private static readonly byte[] Vm1Mac = [2, 0, 0, 1, 0, 1], GatewayMac = [2, 0, 0, 0, 0xff, 0xfe];

    private IHost? _host;

    public DocaRuntimeTrafficTests(EmulatorFixture fixture)
    {
        _ = fixture;
        EmulatorControl.BeginTest();
    }

    public void Dispose()
    {
        _host?.Dispose();
        EmulatorControl.Reset();
    }

    // A slow path from a factory, so the runtime's factory branch is exercised without a kernel namespace.
    private sealed class PolicySlowPathFactory : IOffloadSlowPathFactory
    {
        public string Name => "kernel";
        public string? NotSupportedReason => null;
        public ISlowPath Create(OffloadComponentContext context) => new PolicySlowPath(context.Policy, context.Ports);
        public void ApplyPolicy(ISlowPath slowPath, PolicySnapshot policy) => ((PolicySlowPath)slowPath).Apply(policy);
    }

    private OffloadRuntime Build(OffloadBackendKind kind, OffloadSlowPathKind slowPath, Action<IOffloadBuilder> register)
    {
        var hb = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        hb.Services.AddSingleton<TimeProvider>(new FakeTimeProvider(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero)));
        var load = PolicyLoader.Load(Policy);
        load.Snapshot.Should().NotBeNull(string.Join("; ", load.Errors));
        var builder = hb.Services.AddOffload(o =>
        {
            o.Policy = load.Snapshot;
            o.Backend = kind;
            o.SlowPath = slowPath;
            o.FlowCapacity = 4096;
        });
        if (slowPath == OffloadSlowPathKind.Kernel)
            builder.AddSlowPathFactory(new PolicySlowPathFactory());
        register(builder);
        _host = hb.Build();
        return _host.Services.GetRequiredService<OffloadRuntime>();
    }

    private static void Send(OffloadRuntime runtime, ushort port, byte[] frame)
    {
        var inputs = new[] { new InputFrame(PacketBuffer.CopyOf(frame), port) };
        runtime.Process(inputs);
    }

    private static byte[] Request()
    {
        byte[] f = Frames.Udp4(Vm1Ip, Vm2Ip, 40000, 53, payload: 32);
        GatewayMac.CopyTo(f, 0);
        Vm1Mac.CopyTo(f, 6);
        return f;
    }

    private static void PollUntil(OffloadRuntime runtime, Func<bool> done)
    {
        for (int i = 0; i < 100 && !done(); i++)
            runtime.Poll();
        done().Should().BeTrue();
    }

    [Theory]
    [InlineData(OffloadSlowPathKind.Policy)]
    [InlineData(OffloadSlowPathKind.Kernel)]
    public void Process_DocaBackend_ConnectionInstalledInTheDeviceNotTheSoftwareTable(OffloadSlowPathKind slowPath)
    {
        var runtime = Build(OffloadBackendKind.Doca, slowPath, b => b.AddDoca(o => o.MaxFlows = 512));
        runtime.Start();
        var backend = runtime.HardwareBackend.Should().BeOfType<ResilientOffloadBackend>().Subject;
        runtime.Ports.TryGet("vm1", out ushort vm1).Should().BeTrue();
        var original = new FlowKey(NetAddress.FromV4(Vm1Ip), 40000, NetAddress.FromV4(Vm2Ip), 53, IpProtocol.Udp, vm1, 100);

        Send(runtime, vm1, Request());
        PollUntil(runtime, () => backend.Hardware.IsInstalled(original));

        runtime.Read(d => d.OffloadBackend).Should().BeSameAs(backend);
        runtime.Read(d => d.Backend).Should().BeSameAs(backend.Software, "the switch's software table is the backend's host table");
        EmulatorControl.LiveEntries.Should().BeGreaterThan(0);
        backend.Software.Count.Should().Be(0, "the flows went to the device");
        runtime.GetStats().Flows.Should().Be(backend.Count);
        runtime.GetStats().FlowsInstalled.Should().BeGreaterThan(0);
        using var collector = new MetricCollector<int>(runtime.Meter, "offload.flows.offloaded");
        collector.RecordObservableInstruments();
        var offloaded = collector.GetMeasurementSnapshot();
        offloaded.Single(m => Equals(m.Tags["offload.backend"], backend.Name)).Value.Should().Be(backend.Count - backend.Software.Count);
        offloaded.Sum(m => m.Value).Should().Be(backend.Count, "each flow is counted in one backend");
        runtime.Stop();
    }

    [Fact]
    public void Process_BareDocaBackend_DeviceCountsTheFlows()
    {
        var runtime = Build(OffloadBackendKind.Doca, OffloadSlowPathKind.Policy, b => b.AddDoca(o => o.SoftwareFallback = false));
        runtime.Start();
        var device = runtime.HardwareBackend.Should().BeOfType<DocaBackend>().Subject;
        runtime.Ports.TryGet("vm1", out ushort vm1).Should().BeTrue();

        Send(runtime, vm1, Request());
        PollUntil(runtime, () => device.Count > 0);

        EmulatorControl.LiveEntries.Should().BeGreaterThan(0);
        runtime.Read(d => d.Backend.Count).Should().Be(0, "a backend without a host table gets an empty private one");
        runtime.GetStats().Flows.Should().Be(device.Count);
        runtime.Stop();
    }

    [Fact]
    public void Process_AutoWithoutDoca_SoftwareTableCarriesTheFlows()
    {
        var factory = new DocaBackendFactory(new DocaHostingOptions(), () => "libdoca_flow.so.2 not found");
        var runtime = Build(OffloadBackendKind.Auto, OffloadSlowPathKind.Policy, b => b.AddBackendFactory(factory));
        runtime.Start();
        runtime.Ports.TryGet("vm1", out ushort vm1).Should().BeTrue();

        Send(runtime, vm1, Request());
        PollUntil(runtime, () => runtime.Read(d => d.Backend.Count) > 0);

        runtime.HardwareBackend.Should().BeNull();
        runtime.Read(d => d.OffloadBackend).Should().BeSameAs(runtime.Read(d => d.Backend));
        EmulatorControl.LiveEntries.Should().Be(0u);
        runtime.Stop();
    }
}
