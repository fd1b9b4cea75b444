using Microsoft.Extensions.Time.Testing;
using Offload.Actions;
using Offload.Backends;
using Offload.Backends.Software;
using Offload.Conntrack;
using Offload.Doca.Backends;
using Offload.Doca.Tests.Flow;
using Offload.Flows;
using Offload.Packets;

namespace Offload.Doca.Tests.Backends;

/// <summary><see cref="DocaBackend.SnapshotFlows"/> and <see cref="ResilientOffloadBackend.SnapshotFlows"/>: what a flow dump lists.</summary>
[Collection(EmulatorCollection.Name)]
public sealed class FlowSnapshotTests : IDisposable
{
    private const ushort Uplink = 1, VmPort = 2;
    private const uint Vm = 0x0a000001, Remote = 0x0a000002, Dns = 0x08080808, Public = 0xcb007105;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    public FlowSnapshotTests(EmulatorFixture fixture)
    {
        _ = fixture;
        EmulatorControl.BeginTest();
    }

    public void Dispose()
    {
        EmulatorControl.EndTest("the backend must use DOCA in order");
    }

    private static DocaBackend CreateDevice(bool connectionTracking = false, int maxFlows = 64) => new(new DocaBackendOptions
    {
        Ports = [new DocaIngressPort(Uplink), new DocaIngressPort(VmPort, NetworkVni: 7)],
        MaxFlows = maxFlows, QueueDepth = 16, ConnectionTracking = connectionTracking, ConnectionTrackingEntries = 16,
    });

    private static FlowKey Udp(uint src, ushort sport) => new(NetAddress.FromV4(src), sport, NetAddress.FromV4(Remote), 53, IpProtocol.Udp, VmPort, 7);

    private static readonly FlowAction Out = new(ActionProgram.CreateBuilder().SetDestinationMac(MacAddress.Parse("02:00:00:00:00:99")).Output(Uplink).Build());

    [Fact]
    public void DocaBackend_SnapshotFlows_PlainEntriesWithDeviceCountersAndPendingAdds()
    {
        using var device = CreateDevice();
        device.TrySubmit(FlowOperation.Add(Udp(Vm, 1000), Out)).Should().Be(SubmitStatus.Accepted);
        device.DrainAll();
        EmulatorControl.Inject(VmPort, Frames.Udp4(Vm, Remote, 1000, 53, payload: 10), out _, out _).Should().Be(EmulatorControl.PacketPort);
        device.TrySubmit(FlowOperation.Add(Udp(Vm, 1001), Out)).Should().Be(SubmitStatus.Accepted);

        var rows = device.SnapshotFlows();

        rows.Should().HaveCount(2);
        var installed = rows.Single(r => r.Flow.Key == Udp(Vm, 1000));
        installed.Placement.Should().Be(new FlowPlacementInfo(FlowPlacement.Hardware, NotOffloadedReason.None, null, 0));
        installed.Flow.Action.Should().Be(Out);
        installed.Flow.Stats.Packets.Should().Be(1);
        installed.Flow.Stats.Bytes.Should().Be(14 + 20 + 8 + 10);
        var pending = rows.Single(r => r.Flow.Key == Udp(Vm, 1001));
        pending.Placement.Reason.Should().Be(NotOffloadedReason.Pending);
        device.DrainAll();
        device.SnapshotFlows().Should().OnlyContain(r => r.Placement.Reason == NotOffloadedReason.None);
    }

    [Fact]
    public void DocaBackend_SnapshotFlows_BothDirectionsOfAConnectionWithTheirActionsAndCounters()
    {
        using var device = CreateDevice(connectionTracking: true);
        var conn = new ConnectionId(5, 1);
        var origin = new FlowKey(NetAddress.FromV4(Vm), 1000, NetAddress.FromV4(Dns), 53, IpProtocol.Udp, VmPort, 7);
        var reply = new FlowKey(NetAddress.FromV4(Dns), 53, NetAddress.FromV4(Public), 40000, IpProtocol.Udp, Uplink, 0);
        var originAction = new FlowAction(ActionProgram.CreateBuilder().ApplyNat().Output(Uplink).Build(), NatRewrite.Source(NetAddress.FromV4(Public), 40000));
        var replyAction = new FlowAction(ActionProgram.CreateBuilder().ApplyNat().Output(VmPort).Build(), NatRewrite.Destination(NetAddress.FromV4(Vm), 1000));
        device.TrySubmit(FlowOperation.Add(origin, originAction, conn, ConnDirection.Original, default)).Should().Be(SubmitStatus.Accepted);
        device.TrySubmit(FlowOperation.Add(reply, replyAction, conn, ConnDirection.Reply, default)).Should().Be(SubmitStatus.Accepted);
        device.DrainAll();
        device.ConnectionCount.Should().Be(1);
        EmulatorControl.Inject(Uplink, Frames.Udp4(Dns, Public, 53, 40000), out _, out _).Should().Be(EmulatorControl.PacketPort);
        EmulatorControl.Inject(Uplink, Frames.Udp4(Dns, Public, 53, 40000), out _, out _).Should().Be(EmulatorControl.PacketPort);

        var rows = device.SnapshotFlows();

        rows.Should().HaveCount(2);
        var o = rows.Single(r => r.Flow.Key == origin);
        var r = rows.Single(r => r.Flow.Key == reply);
        (o.Flow.Action, o.Flow.Connection, o.Flow.Direction, o.Flow.Stats.Packets).Should().Be((originAction, conn, ConnDirection.Original, 0L));
        (r.Flow.Action, r.Flow.Connection, r.Flow.Direction, r.Flow.Stats.Packets).Should().Be((replyAction, conn, ConnDirection.Reply, 2L));
        rows.Should().OnlyContain(x => x.Placement.Placement == FlowPlacement.Hardware && x.Placement.Reason == NotOffloadedReason.None);

        device.TrySubmit(FlowOperation.Remove(origin)).Should().Be(SubmitStatus.Accepted);
        device.DrainAll();
        device.SnapshotFlows().Select(x => x.Flow.Key).Should().Equal(reply);
    }

    [Fact]
    public void Resilient_SnapshotFlows_DeviceAndSoftwareFlowsEachOnceWithTheReason()
    {
        using var backend = new ResilientOffloadBackend(CreateDevice(maxFlows: 1),
            new SoftwareBackend(new SoftwareBackendOptions { Capacity = 64, QueueDepth = 64 }, _time), timeProvider: _time);
        var metered = new FlowAction(ActionProgram.CreateBuilder().Meter(0).Output(Uplink).Build());
        backend.TrySubmit(FlowOperation.Add(Udp(Vm, 1000), Out)).Should().Be(SubmitStatus.Accepted);
        backend.TrySubmit(FlowOperation.Add(Udp(Vm, 1001), metered)).Should().Be(SubmitStatus.Accepted);
        for (int i = 0; i < 20 && !(backend.GetPlacement(Udp(Vm, 1000), out var p) && p.Placement == FlowPlacement.Hardware); i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(50));
            backend.DrainAll();
        }
        EmulatorControl.Inject(VmPort, Frames.Udp4(Vm, Remote, 1000, 53), out _, out _).Should().Be(EmulatorControl.PacketPort);

        var rows = backend.SnapshotFlows();

        rows.Should().HaveCount(2);
        var onDevice = rows.Single(r => r.Flow.Key == Udp(Vm, 1000));
        onDevice.Placement.Placement.Should().Be(FlowPlacement.Hardware);
        onDevice.Flow.Stats.Packets.Should().Be(1, "the device's counter");
        onDevice.Flow.Action.Should().Be(Out);
        var inSoftware = rows.Single(r => r.Flow.Key == Udp(Vm, 1001));
        inSoftware.Placement.Placement.Should().Be(FlowPlacement.Software);
        inSoftware.Placement.Reason.Should().Be(NotOffloadedReason.Unsupported);
        inSoftware.Placement.Detail.Should().Contain("Meter");
        inSoftware.Flow.Action.Should().Be(metered);
    }
}
