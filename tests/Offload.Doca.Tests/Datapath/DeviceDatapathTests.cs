using System.Buffers.Binary;
using Microsoft.Extensions.Time.Testing;
using Offload.Actions;
using Offload.Backends;
using Offload.Backends.Software;
using Offload.Datapath;
using Offload.Doca.Backends;
using Offload.Doca.Tests.Flow;
using Offload.Flows;
using Offload.Packets;
using Offload.Policy;
using Offload.Switching;

namespace Offload.Doca.Tests.Datapath;

/// <summary>
/// The datapath driving the DOCA backend on the emulator, with the policy slow path: the first packet is decided by the
/// slow path, later packets are forwarded by the device model without reaching the datapath, conntrack lives on from the
/// device's counters, and the device's aging ends the connection (both flows and the conntrack entry).
/// </summary>
[Collection(EmulatorCollection.Name)]
public sealed class DeviceDatapathTests : IDisposable, IFrameSink
{
    private const string Policy = """
        host: { name: host-a, underlay: { ip: 192.0.2.10, mac: "02:00:00:00:0a:01" }, gatewayMac: "02:00:00:00:ff:fe" }
        networks:
          - { name: blue, vni: 100, cidr: 10.1.0.0/16, tunnel: vxlan }
        ports:
          - { name: vm1, network: blue, mac: "02:00:00:01:00:01", ip: 10.1.0.1, host: host-a }
          - { name: vm2, network: blue, mac: "02:00:00:01:00:02", ip: 10.1.0.2, host: host-a }
        conntrack:
          timeouts: { udp: 30, udpStream: 120 }
        """;

    private const uint Vm1Ip = 0x0A010001, Vm2Ip = 0x0A010002;
    private static readonly byte[] Vm1Mac = [2, 0, 0, 1, 0, 1], Vm2Mac = [2, 0, 0, 1, 0, 2], GatewayMac = [2, 0, 0, 0, 0xff, 0xfe];

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));
    private readonly List<FrameResult> _results = new();
    private readonly PolicySlowPath _slowPath;
    private readonly ushort _vm1, _vm2;
    private FlowBackend? _backend;
    private Offload.Datapath.Datapath? _datapath;

    public DeviceDatapathTests(EmulatorFixture fixture)
    {
        _ = fixture;
        EmulatorControl.BeginTest();
        var load = PolicyLoader.Load(Policy);
        load.Snapshot.Should().NotBeNull(string.Join("; ", load.Errors));
        _slowPath = new PolicySlowPath(load.Snapshot!);
        _vm1 = _slowPath.Ports.GetOrAdd("vm1");
        _vm2 = _slowPath.Ports.GetOrAdd("vm2");
    }

    public void Dispose()
    {
        _datapath?.Dispose();
        _backend?.Dispose();
        EmulatorControl.EndTest("the backend must use DOCA in order");
    }

    void IFrameSink.OnFrame(in FrameResult result, ReadOnlySpan<byte> frame) => _results.Add(result);

    private DocaBackend Device(bool connectionTracking = false) => new(new DocaBackendOptions
    {
        Ports = [new DocaIngressPort(PortRegistry.Uplink), new DocaIngressPort(_vm1, 100), new DocaIngressPort(_vm2, 100)],
        MaxFlows = 1024,
        ConnectionTracking = connectionTracking,
    });

    private Offload.Datapath.Datapath Start(FlowBackend backend)
    {
        _backend = backend;
        _datapath = new Offload.Datapath.Datapath(new DatapathOptions(), _slowPath, backend, this, _time);
        _datapath.AddUplink(PortRegistry.Uplink);
        _datapath.AddPort(_vm1, "vm1", 100);
        _datapath.AddPort(_vm2, "vm2", 100);
        return _datapath;
    }

    private static byte[] Udp(uint src, uint dst, ushort sport, ushort dport, byte[] srcMac)
    {
        byte[] f = Frames.Udp4(src, dst, sport, dport, payload: 32);
        GatewayMac.CopyTo(f, 0);
        srcMac.CopyTo(f, 6);
        return f;
    }

    private static readonly byte[] Request = Udp(Vm1Ip, Vm2Ip, 40000, 53, Vm1Mac);
    private static readonly FlowKey Original = new(NetAddress.FromV4(Vm1Ip), 40000, NetAddress.FromV4(Vm2Ip), 53, IpProtocol.Udp, 2, 100);

    private FrameResult Send(ushort port, byte[] frame)
    {
        var input = new InputFrame(PacketBuffer.CopyOf(frame), port, _results.Count);
        _datapath!.Process(ref input);
        return _results[^1];
    }

    // One second on both clocks, and a Poll (the datapath thread polls far more often than DeviceCounterLead).
    private void Tick()
    {
        _time.Advance(TimeSpan.FromSeconds(1));
        EmulatorControl.AdvanceTimeNs(1_000_000_000);
        _datapath!.Poll();
    }

    private void PollUntil(Func<bool> done)
    {
        for (int i = 0; i < 100 && !done(); i++)
            _datapath!.Poll();
        done().Should().BeTrue();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Datapath_ResilientDoca_FirstPacketSlowLaterPacketsForwardedByTheDeviceConntrackKeptAliveThenAgedOut(bool flowCt)
    {
        var backend = new ResilientOffloadBackend(Device(flowCt), new SoftwareBackend(new SoftwareBackendOptions { Capacity = 1024 }, _time),
            new ResilientOffloadOptions(), _time);
        var datapath = Start(backend);
        datapath.Backend.Should().BeSameAs(backend.Software, "the device's misses are looked up in the software part");
        _vm1.Should().Be(Original.InPort);

        var first = Send(_vm1, Request);
        first.Path.Should().Be(PacketPath.Slow);
        first.Verdict.Should().Be(ActionVerdict.Output);
        first.OutPort.Should().Be(_vm2);
        var reply = new FlowKey(NetAddress.FromV4(Vm2Ip), 53, NetAddress.FromV4(Vm1Ip), 40000, IpProtocol.Udp, _vm2, 100);
        PollUntil(() => backend.Hardware.IsInstalled(Original) && backend.Hardware.IsInstalled(reply));
        datapath.Conntrack.TryLookup(Original, out var id, out _).Should().BeTrue();
        backend.Software.Count.Should().Be(0, "both directions moved to the device");
        backend.Hardware.ConnectionCount.Should().Be(flowCt ? 1 : 0, "with Flow CT both directions are one CT entry");

        int seen = _results.Count;
        for (int t = 0; t < 100; t++)
        {
            if (t % 10 == 5)
            {
                EmulatorControl.Inject(_vm1, Request, out byte[] output, out ushort outPort).Should().Be(EmulatorControl.PacketPort);
                outPort.Should().Be(_vm2);
                output.AsSpan(0, 6).ToArray().Should().Equal(Vm2Mac, "the device applies the slow path's rewrite");
            }
            Tick();
        }
        _results.Should().HaveCount(seen, "the device forwarded every later packet without the datapath");
        datapath.Conntrack.Contains(id).Should().BeTrue("100 s of device traffic kept a 30 s connection alive");
        datapath.DeviceCounterRefreshes.Should().BeGreaterThan(0);

        for (int t = 0; t < 40 && datapath.Conntrack.Contains(id); t++)
            Tick();

        datapath.Conntrack.Contains(id).Should().BeFalse("idle on the device for its timeout");
        datapath.DeviceAgedConnections.Should().Be(1, "the device's aging ended it, before conntrack's own expiry");
        PollUntil(() => backend.Count == 0 && backend.Hardware.Count == 0);
        EmulatorControl.Inject(_vm1, Request, out _, out _).Should().Be(EmulatorControl.PacketMiss, "both directions left the device");
    }

    [Fact]
    public void Datapath_DeviceFailsAndRecovers_ConnectionServedBySoftwareMeanwhileThenByTheDeviceAgainAndNeverExpires()
    {
        var backend = new ResilientOffloadBackend(Device(), new SoftwareBackend(new SoftwareBackendOptions { Capacity = 1024 }, _time),
            new ResilientOffloadOptions(), _time);
        var datapath = Start(backend);
        Send(_vm1, Request);
        PollUntil(() => backend.Hardware.IsInstalled(Original));
        datapath.Conntrack.TryLookup(Original, out var id, out _).Should().BeTrue();
        for (int t = 0; t < 20; t++)
        {
            if (t % 5 == 0)
                EmulatorControl.Inject(_vm1, Request, out _, out _).Should().Be(EmulatorControl.PacketPort);
            Tick();
        }

        // The whole device dies (every port of it): what it held is lost.
        foreach (ushort port in new[] { PortRegistry.Uplink, _vm1, _vm2 })
            EmulatorControl.SetDeviceFatal(port, true);
        datapath.Poll();
        backend.Hardware.Health.Should().Be(BackendHealth.Failed);
        backend.GetPlacement(Original, out var placement).Should().BeTrue();
        placement.Placement.Should().Be(FlowPlacement.Software);
        for (int t = 0; t < 20; t++)
        {
            if (t % 5 == 0)
                Send(_vm1, Request).Path.Should().Be(PacketPath.Fast, "the device's flows are served by the software part meanwhile");
            Tick();
        }

        foreach (ushort port in new[] { PortRegistry.Uplink, _vm1, _vm2 })
            EmulatorControl.SetDeviceFatal(port, false);
        for (int t = 0; t < 10 && !backend.Hardware.IsInstalled(Original); t++)
            Tick();
        backend.GetPlacement(Original, out placement);
        backend.Hardware.IsInstalled(Original).Should().BeTrue($"re-offloaded once the device answers again ({placement}, {backend.Hardware.Health}, {backend.BreakerState})");
        for (int t = 0; t < 60; t++)
        {
            if (t % 5 == 0)
                EmulatorControl.Inject(_vm1, Request, out _, out _).Should().Be(EmulatorControl.PacketPort);
            Tick();
        }

        datapath.Conntrack.Contains(id).Should().BeTrue("device, software, device again: 100 s of traffic on a 30 s connection");
        datapath.DeviceAgedConnections.Should().Be(0);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Datapath_DocaBackendAlone_DeviceForwardsAndExpiryRemovesBothFlows(bool flowCt)
    {
        var device = Device(flowCt);
        var datapath = Start(device);

        Send(_vm1, Request).Path.Should().Be(PacketPath.Slow);
        PollUntil(() => device.Count == 2);
        device.ConnectionCount.Should().Be(flowCt ? 1 : 0);
        datapath.Backend.Count.Should().Be(0, "no flow is served in this process");

        EmulatorControl.Inject(_vm1, Request, out _, out ushort outPort).Should().Be(EmulatorControl.PacketPort);
        outPort.Should().Be(_vm2);
        var reply = Udp(Vm2Ip, Vm1Ip, 53, 40000, Vm2Mac);
        EmulatorControl.Inject(_vm2, reply, out byte[] back, out outPort).Should().Be(EmulatorControl.PacketPort);
        outPort.Should().Be(_vm1);
        back.AsSpan(0, 6).ToArray().Should().Equal(Vm1Mac);

        for (int t = 0; t < 28; t++)
            Tick();
        datapath.Conntrack.TryLookup(Original, out var id, out _).Should().BeTrue();
        datapath.Conntrack.Get(id).SeenReply.Should().BeTrue("the reply the device forwarded was credited from its counters");

        for (int t = 0; t < 200 && datapath.Conntrack.Contains(id); t++)
            Tick();
        datapath.Conntrack.Contains(id).Should().BeFalse();
        PollUntil(() => device.Count == 0);
        EmulatorControl.Inject(_vm1, Request, out _, out _).Should().Be(EmulatorControl.PacketMiss);
    }
}
