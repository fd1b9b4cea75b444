using Offload.Actions;
using Offload.Conntrack;
using Offload.Datapath;
using Offload.Flows;
using Offload.Packets;
using static Offload.Tests.Datapath.DatapathTestBed;

namespace Offload.Tests.Datapath;

/// <summary>Punting the TCP close to the slow path, and removals the slow path asks for (claim C5).</summary>
public class DatapathSyncTests
{
    private static readonly DatapathOptions Punt = new() { PuntTcpTeardown = true };

    private static FlowKey Key(string src, ushort sp, string dst, ushort dp, byte proto, ushort inPort) =>
        new(NetAddress.Parse(src), sp, NetAddress.Parse(dst), dp, proto, inPort, Vni);

    private static FrameResult Tcp(DatapathTestBed bed, ushort port, bool syn = false, bool ack = false, bool fin = false, bool rst = false,
        int payload = 0)
    {
        bool fromVm1 = port == Vm1;
        return bed.Send(port, fromVm1
            ? TestFrames.Tcp("10.1.0.1", 40000, "10.1.0.2", 80, syn: syn, ack: ack, fin: fin, rst: rst, payload: payload)
            : TestFrames.Tcp("10.1.0.2", 80, "10.1.0.1", 40000, syn: syn, ack: ack, fin: fin, rst: rst, payload: payload,
                srcMac: TestFrames.Vm2Mac)).Result;
    }

    private static void Establish(DatapathTestBed bed)
    {
        Tcp(bed, Vm1, syn: true).Path.Should().Be(PacketPath.Slow);
        Tcp(bed, Vm2, syn: true, ack: true).Path.Should().Be(PacketPath.Fast);
        Tcp(bed, Vm1, ack: true).State.Should().Be(ConnState.Established);
    }

    // A bed whose slow path is a copy of the bed's static policy behind an async gate.
    private static (DatapathTestBed Bed, GatedSlowPath Gate) Gated(DatapathOptions options)
    {
        var policy = new StaticSlowPath();
        var gate = new GatedSlowPath(policy);
        var bed = new DatapathTestBed(gate, options);
        foreach (var kv in bed.Policy.Routes)
            policy.Routes[kv.Key] = kv.Value;
        return (bed, gate);
    }

    private static void ReleaseAndPoll(DatapathTestBed bed, GatedSlowPath gate)
    {
        gate.ReleaseAll();
        SpinWait.SpinUntil(() => bed.Datapath.Poll() > 0 && bed.Datapath.PendingDecisions == 0, TimeSpan.FromSeconds(5));
        bed.Datapath.PendingDecisions.Should().Be(0);
    }

    [Fact]
    public void Process_PuntTcpTeardown_FinAndFinAckGoToSlowPathWithTheirConnectionAndConntrackAdvances()
    {
        using var bed = new DatapathTestBed(options: Punt);
        Establish(bed);
        bed.Datapath.Conntrack.TryLookup(Key("10.1.0.1", 40000, "10.1.0.2", 80, IpProtocol.Tcp, Vm1), out var id, out _).Should().BeTrue();

        var fin = Tcp(bed, Vm1, fin: true, ack: true);
        fin.Path.Should().Be(PacketPath.Slow, "the slow path (the kernel) must see the close");
        fin.Verdict.Should().Be(ActionVerdict.Output);
        fin.OutPort.Should().Be(Vm2);
        fin.State.Should().Be(ConnState.FinWait, "conntrack advances from the punted packet");
        var request = bed.Policy.Requests[^1];
        request.Connection.Should().Be(id);
        request.Direction.Should().Be(ConnDirection.Original);
        request.Tracked.State.Should().Be(ConnState.Established, "the request carries the state before the FIN");

        var finAck = Tcp(bed, Vm2, fin: true, ack: true);
        finAck.Path.Should().Be(PacketPath.Slow);
        finAck.OutPort.Should().Be(Vm1);
        finAck.State.Should().Be(ConnState.LastAck);
        bed.Policy.Requests[^1].Direction.Should().Be(ConnDirection.Reply);

        var lastAck = Tcp(bed, Vm1, ack: true);
        lastAck.Path.Should().Be(PacketPath.Fast, "only FIN and RST are punted");
        lastAck.State.Should().Be(ConnState.TimeWait);
        bed.Policy.Calls.Should().Be(3);
        bed.Datapath.GetSyncStats().TeardownsPunted.Should().Be(2);
        bed.Backend.Count.Should().Be(2, "the flows stay until the connection ends");
    }

    [Fact]
    public void Process_PuntTcpTeardown_RstGoesToSlowPathAndClosesTheConnection()
    {
        using var bed = new DatapathTestBed(options: Punt);
        Establish(bed);

        var rst = Tcp(bed, Vm2, rst: true, ack: true);

        rst.Path.Should().Be(PacketPath.Slow);
        rst.OutPort.Should().Be(Vm1);
        rst.State.Should().Be(ConnState.Close);
        bed.Policy.Requests[^1].Connection.IsNone.Should().BeFalse();
    }

    [Fact]
    public void Process_PuntTcpTeardownOff_FinTakesTheFastPath()
    {
        using var bed = new DatapathTestBed();
        Establish(bed);

        var fin = Tcp(bed, Vm1, fin: true, ack: true);

        fin.Path.Should().Be(PacketPath.Fast);
        fin.State.Should().Be(ConnState.FinWait);
        bed.Policy.Calls.Should().Be(1);
        bed.Datapath.GetSyncStats().TeardownsPunted.Should().Be(0);
    }

    [Fact]
    public void Process_PuntedFinPending_LaterPacketsOfItsDirectionWaitBehindItInOrder()
    {
        var (bed, gate) = Gated(Punt);
        using var _ = bed;
        var syn = new InputFrame(PacketBuffer.CopyOf(TestFrames.Tcp("10.1.0.1", 40000, "10.1.0.2", 80, syn: true)), Vm1);
        bed.Datapath.Process(ref syn);
        ReleaseAndPoll(bed, gate);
        Tcp(bed, Vm2, syn: true, ack: true).Path.Should().Be(PacketPath.Fast);
        Tcp(bed, Vm1, ack: true).Path.Should().Be(PacketPath.Fast);
        int before = bed.Sink.Frames.Count;

        var frames = new[]
        {
            new InputFrame(PacketBuffer.CopyOf(TestFrames.Tcp("10.1.0.1", 40000, "10.1.0.2", 80, fin: true, ack: true)), Vm1, 100),
            new InputFrame(PacketBuffer.CopyOf(TestFrames.Tcp("10.1.0.1", 40000, "10.1.0.2", 80, ack: true, payload: 5)), Vm1, 101),
            new InputFrame(PacketBuffer.CopyOf(TestFrames.Tcp("10.1.0.2", 80, "10.1.0.1", 40000, ack: true, srcMac: TestFrames.Vm2Mac)), Vm2, 102),
        };
        bed.Datapath.Process(frames);
        var third = new InputFrame(PacketBuffer.CopyOf(TestFrames.Tcp("10.1.0.1", 40000, "10.1.0.2", 80, ack: true, payload: 6)), Vm1, 103);
        bed.Datapath.Process(ref third);

        gate.Waiting.Should().Be(1, "the FIN waits for its decision");
        bed.Sink.Frames.Skip(before).Select(f => f.Result.Cookie).Should().Equal([102L],
            "the other direction is not held; the packets behind the FIN are");

        ReleaseAndPoll(bed, gate);

        var results = bed.Sink.Frames.Skip(before).Select(f => f.Result).ToList();
        results.Select(r => r.Cookie).Should().Equal(102, 100, 101, 103);
        results[1].Path.Should().Be(PacketPath.Slow);
        results[1].State.Should().Be(ConnState.FinWait);
        results.Skip(2).Should().OnlyContain(r => r.Path == PacketPath.Fast && r.Verdict == ActionVerdict.Output && r.OutPort == Vm2);
        Tcp(bed, Vm1, ack: true).Path.Should().Be(PacketPath.Fast, "nothing waits once the decision is applied");
    }

    [Fact]
    public async Task RequestRemoveConnection_ReplyKeyFromAnotherThread_NextPollRemovesEntryAndBothFlowsForTheSlowPath()
    {
        var policy = new StaticSlowPath();
        var observing = new ObservingSlowPath(policy);
        using var bed = new DatapathTestBed(observing);
        foreach (var kv in bed.Policy.Routes)
            policy.Routes[kv.Key] = kv.Value;
        bed.Send(Vm1, TestFrames.Udp("10.1.0.1", 5000, "10.1.0.2", 53)).Result.Path.Should().Be(PacketPath.Slow);
        bed.Send(Vm2, TestFrames.Udp("10.1.0.2", 53, "10.1.0.1", 5000, srcMac: TestFrames.Vm2Mac)).Result.Path.Should().Be(PacketPath.Fast);

        (await Task.Run(() => bed.Datapath.RequestRemoveConnection(Key("10.1.0.2", 53, "10.1.0.1", 5000, IpProtocol.Udp, Vm2))))
            .Should().BeTrue();
        bed.Datapath.Conntrack.Count.Should().Be(1, "requests are applied by Poll, on the datapath's thread");
        bed.Backend.Count.Should().Be(2);

        bed.Datapath.Poll();

        bed.Datapath.Conntrack.Count.Should().Be(0);
        bed.Backend.Count.Should().Be(0);
        observing.Removed.Should().ContainSingle().Which.Reason.Should().Be(ConntrackRemoveReason.SlowPath);
        observing.Removed[0].Info.Original.SrcPort.Should().Be(5000);
        var stats = bed.Datapath.GetSyncStats();
        stats.RemovalsRequested.Should().Be(1);
        stats.RemovalsApplied.Should().Be(1);
        bed.Send(Vm1, TestFrames.Udp("10.1.0.1", 5000, "10.1.0.2", 53)).Result.Path.Should().Be(PacketPath.Slow,
            "the next packet is decided afresh");
    }

    [Fact]
    public void RequestRemoveConnection_ObserverWithoutTheReasonOverload_IsStillTold()
    {
        var policy = new StaticSlowPath();
        var observing = new ReasonlessObservingSlowPath(policy);
        using var bed = new DatapathTestBed(observing);
        foreach (var kv in bed.Policy.Routes)
            policy.Routes[kv.Key] = kv.Value;
        bed.Send(Vm1, TestFrames.Udp("10.1.0.1", 5000, "10.1.0.2", 53));

        bed.Datapath.RequestRemoveConnection(Key("10.1.0.1", 5000, "10.1.0.2", 53, IpProtocol.Udp, Vm1));
        bed.Datapath.Poll();

        observing.Removed.Should().ContainSingle().Which.Original.DstPort.Should().Be(53);
    }

    [Fact]
    public void RequestRemoveConnection_KeyOfNoConnection_CountedAndNothingRemoved()
    {
        using var bed = new DatapathTestBed();
        bed.Send(Vm1, TestFrames.Udp("10.1.0.1", 5000, "10.1.0.2", 53));

        bed.Datapath.RequestRemoveConnection(Key("10.1.0.1", 5001, "10.1.0.2", 53, IpProtocol.Udp, Vm1));
        bed.Datapath.Poll();

        bed.Datapath.Conntrack.Count.Should().Be(1);
        bed.Backend.Count.Should().Be(2);
        bed.Datapath.GetSyncStats().RemovalsNotFound.Should().Be(1);
    }

    [Fact]
    public void RequestRemoveConnection_AfterDispose_ReturnsFalse()
    {
        var bed = new DatapathTestBed();
        bed.Dispose();

        bed.Datapath.RequestRemoveConnection(Key("10.1.0.1", 5001, "10.1.0.2", 53, IpProtocol.Udp, Vm1)).Should().BeFalse();
    }

    [Fact]
    public async Task RequestRemoveConnection_ManyThreadsWhileThePacketThreadPolls_EveryConnectionRemoved()
    {
        const int Connections = 200;
        using var bed = new DatapathTestBed();
        for (int c = 0; c < Connections; c++)
            bed.Send(Vm1, TestFrames.Udp("10.1.0.1", (ushort)(10_000 + c), "10.1.0.2", 53));
        bed.Backend.Count.Should().Be(2 * Connections);

        var producers = Enumerable.Range(0, 4).Select(t => Task.Run(() =>
        {
            for (int c = t; c < Connections; c += 4)
                bed.Datapath.RequestRemoveConnection(Key("10.1.0.1", (ushort)(10_000 + c), "10.1.0.2", 53, IpProtocol.Udp, Vm1));
        })).ToArray();
        while (!Task.WhenAll(producers).IsCompleted || bed.Datapath.GetSyncStats().RemovalsApplied < Connections)
        {
            bed.Datapath.Poll();
            if (bed.Datapath.GetSyncStats().RemovalsApplied >= Connections)
                break;
            Thread.Yield();
        }
        await Task.WhenAll(producers);
        bed.Datapath.Poll();

        bed.Datapath.Conntrack.Count.Should().Be(0);
        bed.Backend.Count.Should().Be(0);
        bed.Datapath.GetSyncStats().RemovalsApplied.Should().Be(Connections);
    }
}
