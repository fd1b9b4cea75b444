using Microsoft.Extensions.Time.Testing;
using Offload.Actions;
using Offload.Conntrack;
using Offload.Datapath;
using Offload.Flows;
using Offload.Packets;
using static Offload.Tests.Datapath.DatapathTestBed;

namespace Offload.Tests.Datapath;

/// <summary>The datapath driving a backend whose flows it cannot see (a device): installs go to the device, frames
/// reaching the host are its misses, conntrack lives on from the device's counters and ends with its aging.</summary>
public sealed class DeviceBackendDatapathTests : IDisposable
{
    private static readonly FlowKey Original = new(NetAddress.Parse("10.1.0.1"), 40000, NetAddress.Parse("10.1.0.2"), 53, IpProtocol.Udp, Vm1, Vni);
    private static readonly FlowKey Reply = new(NetAddress.Parse("10.1.0.2"), 53, NetAddress.Parse("10.1.0.1"), 40000, IpProtocol.Udp, Vm2, Vni);

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly StaticSlowPath _policy = new();
    private readonly CollectingSink _sink = new();
    private readonly FakeDeviceBackend _device;
    private readonly Offload.Datapath.Datapath _datapath;

    public DeviceBackendDatapathTests() : this(new FakeDeviceBackend())
    {
    }

    private DeviceBackendDatapathTests(FakeDeviceBackend device, DatapathOptions? options = null)
    {
        _device = device;
        _datapath = new Offload.Datapath.Datapath(options ?? new DatapathOptions(), _policy, _device, _sink, _time);
        _datapath.AddPort(Vm1, "vm1", Vni);
        _datapath.AddPort(Vm2, "vm2", Vni);
        _policy.AddRoute(Vni, "10.1.0.1", new StaticSlowPath.Route(Vm1, TestFrames.Vm1Mac, TestFrames.GatewayMac, Vm1));
        _policy.AddRoute(Vni, "10.1.0.2", new StaticSlowPath.Route(Vm2, TestFrames.Vm2Mac, TestFrames.GatewayMac, Vm2));
    }

    public void Dispose() => _datapath.Dispose();

    private FrameResult Send(ushort port, byte[] frame)
    {
        var input = new InputFrame(PacketBuffer.CopyOf(frame), port, cookie: _sink.Frames.Count);
        _datapath.Process(ref input);
        return _sink.Last.Result;
    }

    private FrameResult SendFirstPacket()
    {
        var result = Send(Vm1, TestFrames.Udp("10.1.0.1", 40000, "10.1.0.2", 53));
        _datapath.Poll();
        return result;
    }

    private ConnectionId Connection()
    {
        _datapath.Conntrack.TryLookup(Original, out var id, out _).Should().BeTrue();
        return id;
    }

    // Polls every second, as a datapath thread does (more often than DeviceCounterLead).
    private void Advance(int seconds)
    {
        for (int i = 0; i < seconds; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            _datapath.Poll();
        }
    }

    [Fact]
    public void Process_FirstPacket_BothDirectionsInstalledOnTheDeviceWithTheConnectionTimeoutAsIdle()
    {
        var first = SendFirstPacket();

        first.Path.Should().Be(PacketPath.Slow);
        first.Verdict.Should().Be(ActionVerdict.Output);
        _device.Flows.Keys.Should().BeEquivalentTo([Original, Reply]);
        _device.Flows[Original].IdleTimeout.Should().Be(TimeSpan.FromSeconds(30), "an unreplied UDP connection's timeout");
        _datapath.Backend.Count.Should().Be(0, "the datapath's own table holds nothing the device holds");
        _datapath.OffloadBackend.Should().BeSameAs(_device);
        _datapath.GetStats().Flows.Should().Be(2);
    }

    [Fact]
    public void Process_DeviceMissReachesTheHost_SlowPathAgainWithoutASecondInstall()
    {
        SendFirstPacket();

        var again = Send(Vm1, TestFrames.Udp("10.1.0.1", 40000, "10.1.0.2", 53));
        _datapath.Poll();

        again.Path.Should().Be(PacketPath.Slow, "a frame the device missed has no host-side flow");
        again.Verdict.Should().Be(ActionVerdict.Output);
        _device.Flows.Should().HaveCount(2);
        _datapath.GetStats().FlowsInstalled.Should().Be(2);
    }

    [Fact]
    public void Poll_DeviceKeepsForwarding_ConnectionOutlivesItsTimeoutAndEndsAfterTheTrafficStops()
    {
        SendFirstPacket();
        var id = Connection();

        for (int i = 0; i < 10; i++)
        {
            _device.Forward(Original, 3);
            Advance(10);
        }

        _datapath.Conntrack.Contains(id).Should().BeTrue("the device forwarded the connection for 100 s of a 30 s timeout");
        _datapath.DeviceCounterRefreshes.Should().BeGreaterThan(0);
        _datapath.Conntrack.Get(id).OriginalPackets.Should().BeGreaterThan(1, "device packets are credited to conntrack");

        // Packets are credited when they are read, not when the device saw them: the last ones (t = 90) were read at
        // t = 112, so the connection lasts until t = 142 — at most one timeout more than it would in software.
        Advance(40);
        _datapath.Conntrack.Contains(id).Should().BeTrue();
        Advance(3);

        _datapath.Conntrack.Contains(id).Should().BeFalse("with no device packets for longer than the timeout it expires");
        _device.Flows.Should().BeEmpty("expiry removes both directions from the device");
    }

    [Fact]
    public void Poll_NoDeviceTraffic_ConnectionExpiresOnItsTimeout()
    {
        SendFirstPacket();
        var id = Connection();

        Advance(29);
        _datapath.Conntrack.Contains(id).Should().BeTrue();
        Advance(2);

        _datapath.Conntrack.Contains(id).Should().BeFalse();
        _device.Flows.Should().BeEmpty();
        _datapath.DeviceCounterRefreshes.Should().Be(0);
    }

    [Fact]
    public void Poll_DeviceAgesBothDirections_ConnectionAndBothFlowsRemovedBeforeConntrackWouldExpireIt()
    {
        SendFirstPacket();
        var id = Connection();
        _device.Forward(Original, 1);
        Advance(29); // counters read near expiry: refreshed to t = 59
        _datapath.Conntrack.Contains(id).Should().BeTrue();

        Advance(10);
        _device.ReportAged(Original);
        _device.ReportAged(Reply);
        _datapath.Poll();

        _datapath.Conntrack.Contains(id).Should().BeFalse("the device saw both directions idle for the connection's timeout");
        _datapath.DeviceAgedConnections.Should().Be(1);
        _device.Flows.Should().BeEmpty();
    }

    [Fact]
    public void Poll_OneDirectionAgedWhileTheOtherForwards_ConnectionKept()
    {
        SendFirstPacket();
        var id = Connection();
        _device.Forward(Original, 1);
        Advance(29);

        _device.Forward(Reply, 5);
        _device.ReportAged(Original);
        _device.ReportAged(Reply);
        _datapath.Poll();

        _datapath.Conntrack.Contains(id).Should().BeTrue("the reply direction forwarded packets since the last read");
        _device.Flows.Should().HaveCount(2);
        _datapath.Conntrack.Get(id).SeenReply.Should().BeTrue("replies the device forwarded count for conntrack");
    }

    [Fact]
    public void Poll_AgedFlowWithIdleShorterThanTheStateTimeout_ConnectionKept()
    {
        // Installed while UNREPLIED (30 s); replies make the connection ASSURED (120 s): a 30 s idle report is not enough.
        SendFirstPacket();
        var id = Connection();
        _device.Forward(Reply, 2);
        _device.Forward(Original, 2);
        Advance(29);
        Advance(1);
        _device.Forward(Reply, 2);
        _device.Forward(Original, 2);
        Advance(29);
        _datapath.Conntrack.Get(id).Assured.Should().BeTrue();

        Advance(31);
        _device.ReportAged(Original);
        _device.ReportAged(Reply);
        _datapath.Poll();

        _datapath.Conntrack.Contains(id).Should().BeTrue();
        _datapath.DeviceAgedConnections.Should().Be(0);
    }

    [Fact]
    public void Poll_AgedDropFlowOnTheDevice_Removed()
    {
        _policy.DeniedPorts.Add(22);
        var dropped = Send(Vm1, TestFrames.Tcp("10.1.0.1", 40001, "10.1.0.2", 22, syn: true));
        _datapath.Poll();
        dropped.Verdict.Should().Be(ActionVerdict.Drop);
        var key = new FlowKey(NetAddress.Parse("10.1.0.1"), 40001, NetAddress.Parse("10.1.0.2"), 22, IpProtocol.Tcp, Vm1, Vni);
        _device.Flows.Should().ContainKey(key);

        _device.ReportAged(key);
        _datapath.Poll();

        _device.Flows.Should().NotContainKey(key);
    }

    [Fact]
    public void Poll_BackendWithoutAging_FlowsInstalledWithoutIdleTimeoutAndKeptAliveByCounters()
    {
        using var bed = new DeviceBackendDatapathTests(new FakeDeviceBackend(supportsAging: false));
        bed.SendFirstPacket();
        var id = bed.Connection();

        bed._device.Flows[Original].IdleTimeout.Should().Be(TimeSpan.Zero);
        bed._device.Forward(Original, 1);
        bed.Advance(29);
        bed.Advance(10);

        bed._datapath.Conntrack.Contains(id).Should().BeTrue();
    }

    [Fact]
    public void Poll_ManyShortConnectionsOnTheDevice_WatchEntriesOfRemovedConnectionsDoNotPileUp()
    {
        var timeouts = new DatapathOptions();
        timeouts.Conntrack.Timeouts.Udp = 3600;
        using var bed = new DeviceBackendDatapathTests(new FakeDeviceBackend(), timeouts);
        for (int i = 0; i < 3000; i++)
        {
            bed.Send(Vm1, TestFrames.Udp("10.1.0.1", (ushort)(10000 + i), "10.1.0.2", 53));
            bed._datapath.Conntrack.TryLookup(new FlowKey(NetAddress.Parse("10.1.0.1"), (ushort)(10000 + i), NetAddress.Parse("10.1.0.2"), 53,
                IpProtocol.Udp, Vm1, Vni), out var id, out _).Should().BeTrue();
            bed._datapath.Conntrack.Remove(id, ConntrackRemoveReason.Explicit);
            bed._datapath.Poll();
        }

        bed._datapath.DeviceWatchCount.Should().BeLessThan(1100, "watch entries of removed connections are dropped");
        bed._device.Flows.Should().BeEmpty();
    }
}
