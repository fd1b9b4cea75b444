using Offload.Backends;
using Offload.Conntrack;
using Offload.Datapath;
using Offload.Flows;
using Offload.Packets;
using static Offload.Tests.Datapath.DatapathTestBed;

namespace Offload.Tests.Datapath;

/// <summary>Activity reports: which connections the fast path carried, for the slow path's own timeouts (claim C5).</summary>
public class DatapathActivityTests
{
    private static byte[] Request(ushort port) => TestFrames.Udp("10.1.0.1", port, "10.1.0.2", 53);

    private static byte[] Reply(ushort port) => TestFrames.Udp("10.1.0.2", 53, "10.1.0.1", port, srcMac: TestFrames.Vm2Mac);

    private static (DatapathTestBed Bed, RecordingActivityObserver Observer) Bed(int slice = 4096)
    {
        var bed = new DatapathTestBed(options: new DatapathOptions { ActivityReportInterval = TimeSpan.FromSeconds(5), ActivityScanSlice = slice });
        var observer = new RecordingActivityObserver();
        bed.Datapath.ActivityObserver = observer;
        bed.Datapath.Poll(); // takes the observer up
        return (bed, observer);
    }

    private static void PollUntilReportEnds(DatapathTestBed bed, RecordingActivityObserver observer, int reports)
    {
        for (int i = 0; i < 100_000 && observer.Reports < reports; i++)
            bed.Datapath.Poll();
    }

    [Fact]
    public void Poll_FastPathPackets_ReportedOncePerIntervalWithStateAndLastSeen()
    {
        var (bed, observer) = Bed();
        using var _ = bed;
        bed.Send(Vm1, Request(5000)).Result.Path.Should().Be(PacketPath.Slow);
        bed.Time.Advance(TimeSpan.FromSeconds(1));
        bed.Send(Vm1, Request(6000)).Result.Path.Should().Be(PacketPath.Slow);
        bed.Send(Vm2, Reply(5000)).Result.Path.Should().Be(PacketPath.Fast);
        long seen = bed.Time.GetTimestamp();

        bed.Time.Advance(TimeSpan.FromSeconds(3));
        bed.Datapath.Poll();
        observer.Parts.Should().BeEmpty("the interval has not passed");

        bed.Time.Advance(TimeSpan.FromSeconds(1));
        PollUntilReportEnds(bed, observer, 1);

        var reported = observer.All.Should().ContainSingle("the other connection's only packet went through the slow path").Subject;
        reported.Original.SrcPort.Should().Be(5000);
        reported.Original.InPort.Should().Be(Vm1);
        reported.State.Should().Be(ConnState.Replied);
        reported.LastSeenTicks.Should().Be(seen);
        reported.TimeoutRemaining.Should().Be(TimeSpan.FromSeconds(26));
        observer.Parts[^1].EndOfReport.Should().BeTrue();

        bed.Datapath.Poll();
        observer.Parts.Should().HaveCount(1, "at most one report per interval");
        bed.Time.Advance(TimeSpan.FromSeconds(5));
        PollUntilReportEnds(bed, observer, 2);
        observer.Parts.Should().HaveCount(1, "nothing carried packets since the previous report: nothing to say");

        bed.Time.Advance(TimeSpan.FromSeconds(1));
        bed.Send(Vm1, Request(5000)).Result.Path.Should().Be(PacketPath.Fast);
        bed.Time.Advance(TimeSpan.FromSeconds(4));
        PollUntilReportEnds(bed, observer, 2);
        observer.Reports.Should().Be(2);
        observer.Parts[^1].Connections.Should().ContainSingle().Which.Original.SrcPort.Should().Be(5000);
        bed.Datapath.GetSyncStats().ActivityReported.Should().Be(2);
    }

    [Fact]
    public void Poll_LatestPacketWentThroughTheSlowPath_NotReported()
    {
        var (bed, observer) = Bed();
        using var _ = bed;
        bed.Send(Vm1, Request(5000));
        bed.Time.Advance(TimeSpan.FromSeconds(1));
        bed.Send(Vm2, Reply(5000)).Result.Path.Should().Be(PacketPath.Fast);
        bed.Time.Advance(TimeSpan.FromSeconds(1));
        // The flow vanishes behind the datapath's back (as after a device reset): the next packet is handled by the
        // slow path, which sees it.
        bed.Backend.TrySubmit(FlowOperation.Remove(new FlowKey(NetAddress.Parse("10.1.0.1"), 5000, NetAddress.Parse("10.1.0.2"), 53,
            IpProtocol.Udp, Vm1, Vni))).Should().Be(SubmitStatus.Accepted);
        bed.Send(Vm1, Request(5000)).Result.Path.Should().Be(PacketPath.Slow);

        bed.Time.Advance(TimeSpan.FromSeconds(5));
        PollUntilReportEnds(bed, observer, 1);

        observer.All.Should().BeEmpty();
    }

    [Fact]
    public void Poll_ScanSliceSmallerThanTheTable_ReportSpreadOverPollsEveryConnectionOnceOneEnd()
    {
        const int Connections = 40;
        var (bed, observer) = Bed(slice: 16);
        using var _ = bed;
        for (int c = 0; c < Connections; c++)
            bed.Send(Vm1, Request((ushort)(7000 + c)));
        bed.Time.Advance(TimeSpan.FromSeconds(1));
        for (int c = 0; c < Connections; c++)
            bed.Send(Vm1, Request((ushort)(7000 + c))).Result.Path.Should().Be(PacketPath.Fast);
        bed.Time.Advance(TimeSpan.FromSeconds(5));

        int polls = 0;
        while (observer.Reports == 0 && polls < 10_000)
        {
            bed.Datapath.Poll();
            polls++;
        }

        polls.Should().BeGreaterThan(1, "one Poll examines at most a slice");
        observer.Parts.Should().OnlyContain(p => p.Connections.Length <= 16);
        observer.Parts.Count(p => p.EndOfReport).Should().Be(1);
        observer.Parts[^1].EndOfReport.Should().BeTrue();
        observer.All.Select(a => (int)a.Original.SrcPort).Should().BeEquivalentTo(Enumerable.Range(7000, Connections));
    }

    [Fact]
    public void Poll_ObserverThrows_CountedAndPollGoesOn()
    {
        var (bed, observer) = Bed();
        using var _ = bed;
        observer.Throw = true;
        bed.Send(Vm1, Request(5000));
        bed.Time.Advance(TimeSpan.FromSeconds(1));
        bed.Send(Vm1, Request(5000));
        bed.Time.Advance(TimeSpan.FromSeconds(5));

        PollUntilReportEnds(bed, observer, 1);

        observer.Reports.Should().Be(1);
        bed.Datapath.GetSyncStats().ActivityObserverFailures.Should().Be(1);
        bed.Datapath.GetSyncStats().ActivityReports.Should().Be(1);
    }

    [Fact]
    public void Poll_PacketsBetweenSettingTheObserverAndTheNextPoll_Reported()
    {
        using var bed = new DatapathTestBed(options: new DatapathOptions { ActivityReportInterval = TimeSpan.FromSeconds(5) });
        bed.Send(Vm1, Request(5000));
        bed.Time.Advance(TimeSpan.FromSeconds(1));
        var observer = new RecordingActivityObserver();
        bed.Datapath.ActivityObserver = observer;
        bed.Time.Advance(TimeSpan.FromSeconds(1));
        bed.Send(Vm1, Request(5000)).Result.Path.Should().Be(PacketPath.Fast);

        bed.Time.Advance(TimeSpan.FromSeconds(1));
        bed.Datapath.Poll();
        bed.Time.Advance(TimeSpan.FromSeconds(5));
        PollUntilReportEnds(bed, observer, 1);

        observer.All.Should().ContainSingle().Which.Original.SrcPort.Should().Be(5000);
    }

    [Fact]
    public void Poll_ObserverRemoved_NoMoreReports()
    {
        var (bed, observer) = Bed();
        using var _ = bed;
        bed.Send(Vm1, Request(5000));
        bed.Time.Advance(TimeSpan.FromSeconds(1));
        bed.Send(Vm1, Request(5000));
        bed.Datapath.ActivityObserver = null;
        bed.Time.Advance(TimeSpan.FromSeconds(5));

        for (int i = 0; i < 1000; i++)
            bed.Datapath.Poll();

        observer.Parts.Should().BeEmpty();
    }
}
