using System.Net;
using System.Net.Sockets;
using Offload.Conntrack;
using Offload.Datapath;
using Offload.Kernel.Conntrack;
using Offload.Kernel.Sync;
using Offload.Kernel.Tests.Conntrack;
using Offload.Kernel.Tests.Netns;
using Offload.Kernel.Tests.PacketIo;
using Offload.Packets;

namespace Offload.Kernel.Tests.Sync;

/// <summary>The kernel's conntrack and the datapath's kept in agreement, against the real kernel in a private namespace.</summary>
public sealed class KernelConntrackSyncKernelTests
{
    private static readonly ConntrackTuple Udp = new(NetAddress.Parse("10.9.0.1"), NetAddress.Parse("10.9.0.2"), IpProtocol.Udp, 1111, 2222);
    private static readonly ConntrackTuple Tcp = new(NetAddress.Parse("10.9.0.1"), NetAddress.Parse("10.9.0.2"), IpProtocol.Tcp, 40000, 80);
    private static readonly ConntrackTuple Foreign = new(NetAddress.Parse("10.8.0.1"), NetAddress.Parse("10.8.0.2"), IpProtocol.Udp, 7, 8);

    private static void InsertUdp(SyncBed bed, in ConntrackTuple t, int timeout) =>
        bed.Ns.Exec("conntrack", "-I", "-p", "udp", "-s", t.Source.ToString(), "-d", t.Destination.ToString(),
            "--sport", t.SourcePort.ToString(), "--dport", t.DestinationPort.ToString(), "-t", timeout.ToString(), "-u", "SEEN_REPLY");

    private static void InsertTcp(SyncBed bed, in ConntrackTuple t) =>
        bed.Ns.Exec("conntrack", "-I", "-p", "tcp", "-s", t.Source.ToString(), "-d", t.Destination.ToString(),
            "--sport", t.SourcePort.ToString(), "--dport", t.DestinationPort.ToString(), "-t", "300", "--state", "ESTABLISHED",
            "-u", "SEEN_REPLY,ASSURED");

    [RootFact]
    public void ConntrackDeleteAndFlush_DatapathConnectionsAndBothFlowsRemovedForTheKernel()
    {
        using var bed = new SyncBed();
        // Started first, as an agent starts: the kernel reports events only for entries created while a listener exists.
        bed.Sync.Start(bed.Ns.Namespace);
        InsertUdp(bed, Udp, 100);
        InsertTcp(bed, Tcp);
        InsertUdp(bed, Foreign, 100);
        bed.Import(Udp, ConnState.Replied, TimeSpan.FromSeconds(100));
        bed.Import(Tcp, ConnState.Established, TimeSpan.FromSeconds(300));
        bed.Backend.Count.Should().Be(4);
        bed.PollUntil(() => bed.Sync.GetStats().KernelEntries == 3, TimeSpan.FromSeconds(5)).Should().BeTrue();

        bed.Ns.Exec("conntrack", "-D", "-p", "udp", "--orig-port-src", "1111");

        bed.PollUntil(() => !bed.Tracks(Udp), TimeSpan.FromSeconds(10)).Should().BeTrue("conntrack -D destroys the kernel entry");
        bed.Tracks(Tcp).Should().BeTrue();
        bed.Backend.Count.Should().Be(2, "both flows of the deleted connection are gone, the other's stay");
        bed.SlowPath.ReasonsFor(1111).Should().Equal(ConntrackRemoveReason.SlowPath);

        bed.Ns.Exec("conntrack", "-F");

        bed.PollUntil(() => bed.Datapath.Conntrack.Count == 0, TimeSpan.FromSeconds(10)).Should().BeTrue("a flush destroys every entry");
        bed.Backend.Count.Should().Be(0);
        bed.SlowPath.ReasonsFor(40000).Should().Equal(ConntrackRemoveReason.SlowPath);
        bed.PollUntil(() => bed.Sync.GetStats().DestroysUnresolved >= 1, TimeSpan.FromSeconds(5)).Should().BeTrue(
            "the flushed entry of no datapath connection is resolved to nothing");
        var stats = bed.Sync.GetStats();
        stats.RemovalsRequested.Should().Be(2);
        stats.Errors.Should().Be(0, stats.LastError);
        bed.Datapath.GetSyncStats().RemovalsApplied.Should().Be(2);
    }

    [RootFact]
    public void FastPathActivity_KernelTimeoutRefreshedWhileAnIdleConnectionExpiresInTheKernelThenInTheDatapath()
    {
        var options = new DatapathOptions { ActivityReportInterval = TimeSpan.FromMilliseconds(300) };
        using var bed = new SyncBed(options);
        var idle = Udp with { SourcePort = 1112 };
        bed.Sync.Start(bed.Ns.Namespace);
        InsertUdp(bed, Udp, 3);
        InsertUdp(bed, idle, 3);
        // The datapath would keep both for 30 s: only the kernel's expiry can end the idle one this early.
        bed.Import(Udp, ConnState.Replied, TimeSpan.FromSeconds(30));
        bed.Import(idle, ConnState.Replied, TimeSpan.FromSeconds(30));
        using CtnetlinkClient client = bed.Ns.Enter(() => CtnetlinkClient.Open());
        var started = DateTimeOffset.UtcNow;
        byte[] frame = TestFrames.Udp(MacAddress.Parse("02:00:00:00:ff:fe"), MacAddress.Parse("02:00:00:01:00:01"),
            Udp.Source.V4, Udp.Destination.V4, Udp.SourcePort, Udp.DestinationPort, [1, 2, 3]);
        var results = new List<PacketPath>();
        int rounds = 0;

        bool idleGone = bed.PollUntil(() => !bed.Tracks(idle) && DateTimeOffset.UtcNow - started > TimeSpan.FromSeconds(4),
            TimeSpan.FromSeconds(20), between: () =>
            {
                var input = new InputFrame(PacketBuffer.CopyOf(frame), SyncBed.Vm1);
                bed.Datapath.Process(ref input);
                // A dump reaps expired entries at once (the kernel's own sweep may take longer): their DESTROY follows.
                if (rounds++ % 25 == 0)
                    client.Dump();
            });

        idleGone.Should().BeTrue("the idle connection's kernel entry expired after 3 s and its DESTROY removed it");
        bed.SlowPath.ReasonsFor(1112).Should().Equal(ConntrackRemoveReason.SlowPath);
        bed.Tracks(Udp).Should().BeTrue("the active connection lives on in the datapath");
        KernelConntrackEntry? active = client.TryGet(Udp, isReplyTuple: false);
        active.Should().NotBeNull("fast-path traffic kept the kernel entry alive past its 3 s");
        active!.Value.TimeoutSeconds.Should().BeGreaterThan(20, "its timeout was set to the UDP timeout (30 s) less the idle time");
        client.TryGet(idle, isReplyTuple: false).Should().BeNull();
        bed.Datapath.GetStats().FastPathFrames.Should().BeGreaterThan(10);
        var stats = bed.Sync.GetStats();
        stats.TimeoutsRefreshed.Should().BeGreaterThan(0);
        stats.Errors.Should().Be(0, stats.LastError);
        bed.Datapath.GetSyncStats().ActivityReports.Should().BeGreaterThan(0);
    }

    [RootFact]
    public void TimeoutRefreshes_MoreThanTheRateAllows_SentAtTheRateTheRestWait()
    {
        const int Connections = 12;
        const int Rate = 4;
        var options = new DatapathOptions { ActivityReportInterval = TimeSpan.FromMilliseconds(200) };
        using var bed = new SyncBed(options, new KernelConntrackSyncOptions { MaxTimeoutUpdatesPerSecond = Rate });
        bed.Sync.Start(bed.Ns.Namespace);
        var tuples = Enumerable.Range(0, Connections).Select(i => Udp with { SourcePort = (ushort)(3000 + i) }).ToList();
        foreach (ConntrackTuple t in tuples)
            InsertUdp(bed, t, 300);
        // Imported right before their packets: a UDP connection whose next packet comes more than 2 s after it was
        // created turns ASSURED with the 120 s stream timeout (as Linux), which a slow `conntrack -I` under load would cause.
        foreach (ConntrackTuple t in tuples)
            bed.Import(t, ConnState.Replied, TimeSpan.FromSeconds(300));
        var started = DateTimeOffset.UtcNow;
        foreach (ConntrackTuple t in tuples)
        {
            var input = new InputFrame(PacketBuffer.CopyOf(TestFrames.Udp(MacAddress.Parse("02:00:00:00:ff:fe"), MacAddress.Parse("02:00:00:01:00:01"),
                t.Source.V4, t.Destination.V4, t.SourcePort, t.DestinationPort, [1])), SyncBed.Vm1);
            bed.Datapath.Process(ref input);
        }

        bed.PollUntil(() => false, TimeSpan.FromSeconds(1));
        long early = bed.Sync.GetStats().TimeoutsRefreshed;
        double elapsed = (DateTimeOffset.UtcNow - started).TotalSeconds;
        bed.PollUntil(() => bed.Sync.GetStats().TimeoutsRefreshed == Connections, TimeSpan.FromSeconds(10)).Should().BeTrue(

            "the connections waiting are refreshed as the rate allows");

        early.Should().BeGreaterThan(0).And.BeLessThanOrEqualTo((long)(Rate + Rate * elapsed) + 1, "a burst of one second, then the rate");
        bed.Sync.GetStats().RefreshesWaiting.Should().Be(0);
        foreach (ConntrackTuple t in tuples)
        {
            uint timeout = ConntrackToolLine.ParseAll(bed.Ns.Exec("conntrack", "-L", "-p", "udp", "--orig-port-src", t.SourcePort.ToString(), "-o", "extended"))
                .Should().ContainSingle().Subject.Timeout;
            timeout.Should().BeLessThanOrEqualTo(30, "set to the UDP timeout less the idle time, from the 300 s inserted");
        }
    }

    // One UDP conntrack entry per source port (loopback, nobody listening: the entry stays UNREPLIED).
    private static void UdpFlows(SyncBed bed, int firstPort, int count) => bed.Ns.Enter(() =>
    {
        for (int i = 0; i < count; i++)
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(IPAddress.Loopback, firstPort + i));
            socket.SendTo(new byte[1], new IPEndPoint(IPAddress.Loopback, 9));
        }
        return count;
    });

    [RootFact]
    public void EventOverflowThenResync_EveryVanishedEntryStillRemovesItsDatapathConnection()
    {
        const int Flows = 1500;
        using var bed = new SyncBed(syncOptions: new KernelConntrackSyncOptions { EventBufferBytes = 1 });
        // Conntrack runs in a namespace only once some rule needs it.
        bed.Ns.Exec("nft", "add table inet ct_on; add chain inet ct_on out { type filter hook output priority 0; }; add rule inet ct_on out ct state new counter");
        bed.Sync.Start(bed.Ns.Namespace);
        UdpFlows(bed, 20_000, Flows);
        List<ConntrackToolLine> kernel = bed.KernelList();
        kernel.Should().HaveCount(Flows);
        foreach (ConntrackToolLine line in kernel)
            bed.Import(line.Original, ConnState.Unreplied, TimeSpan.FromSeconds(30));
        bed.PollUntil(() => bed.Sync.GetStats().KernelEntries == Flows, TimeSpan.FromSeconds(20)).Should().BeTrue(
            "the sync knows every entry, from events or from the resync after they overflowed");
        long overflowsBefore = bed.Sync.GetStats().Overflows;

        bed.Ns.Exec("conntrack", "-D", "-p", "udp", "--orig-port-dst", "9");

        bed.PollUntil(() => bed.Datapath.Conntrack.Count == 0, TimeSpan.FromSeconds(30)).Should().BeTrue(
            "every DESTROY, lost to the overflow or not, removes its connection");
        bed.Backend.Count.Should().Be(0);
        var stats = bed.Sync.GetStats();
        stats.Overflows.Should().BeGreaterThan(overflowsBefore, "the test is about events lost to a full socket buffer");
        stats.Resyncs.Should().BeGreaterThan(0);
        stats.RemovalsRequested.Should().Be(Flows);
        stats.KernelEntries.Should().Be(0);
        bed.SlowPath.Removed.Should().HaveCount(Flows).And.OnlyContain(r => r.Reason == ConntrackRemoveReason.SlowPath);
    }

    [RootFact]
    public void PeriodicResync_EntryFromBeforeTheListenerDeleted_RemovedThoughTheKernelSentNoEvent()
    {
        using var bed = new SyncBed(syncOptions: new KernelConntrackSyncOptions { ResyncInterval = TimeSpan.FromMilliseconds(500) });
        // No events at all from this namespace: otherwise a listener of a test running in parallel elsewhere can make the
        // kernel attach an event cache to the entry, and its DESTROY event would arrive before any resync.
        bed.Ns.Enter(() =>
        {
            File.WriteAllText("/proc/sys/net/netfilter/nf_conntrack_events", "0");
            return 0;
        });
        InsertUdp(bed, Udp, 100);
        bed.Import(Udp, ConnState.Replied, TimeSpan.FromSeconds(100));
        bed.Sync.Start(bed.Ns.Namespace);
        bed.Sync.GetStats().KernelEntries.Should().Be(1, "the sync learns the entries that exist before it starts");

        bed.Ns.Exec("conntrack", "-D", "-p", "udp", "--orig-port-src", "1111");

        bed.PollUntil(() => !bed.Tracks(Udp), TimeSpan.FromSeconds(10)).Should().BeTrue();
        bed.SlowPath.ReasonsFor(1111).Should().Equal(ConntrackRemoveReason.SlowPath);
        bed.Sync.GetStats().Resyncs.Should().BeGreaterThan(0);
    }

    [RootFact]
    public void ResolverThrowsForOneEntry_CountedAndTheOtherDestroysStillApplied()
    {
        using var bed = new SyncBed();
        bed.Resolver.ThrowForSourcePort = 1111;
        bed.Sync.Start(bed.Ns.Namespace);
        var other = Udp with { SourcePort = 1113 };
        InsertUdp(bed, Udp, 100);
        InsertUdp(bed, other, 100);
        bed.Import(Udp, ConnState.Replied, TimeSpan.FromSeconds(100));
        bed.Import(other, ConnState.Replied, TimeSpan.FromSeconds(100));

        bed.Ns.Exec("conntrack", "-F");

        bed.PollUntil(() => !bed.Tracks(other), TimeSpan.FromSeconds(10)).Should().BeTrue();
        var stats = bed.Sync.GetStats();
        stats.Errors.Should().Be(1);
        stats.LastError.Should().Be("resolver failed");
        stats.RemovalsRequested.Should().Be(1);
        bed.Tracks(Udp).Should().BeTrue("its DESTROY could not be resolved");
    }

    [RootFact]
    public void ImportKernelConnection_EntriesFromADump_TrackedInTheKernelsStateAndTimeAndFollowedAfterwards()
    {
        using var bed = new SyncBed();
        bed.Sync.Start(bed.Ns.Namespace);
        InsertUdp(bed, Udp, 77);
        InsertTcp(bed, Tcp);
        using CtnetlinkClient client = bed.Ns.Enter(() => CtnetlinkClient.Open());

        foreach (KernelConntrackEntry entry in client.Dump())
            bed.Datapath.ImportKernelConnection(entry, SyncBed.KeyOf(entry.Original), SyncBed.Vm1ToVm2(entry.Original))
                .Should().Be(ConnectionImportResult.Imported);

        var tracked = bed.Datapath.Conntrack.Snapshot();
        tracked.Should().HaveCount(2);
        var udp = tracked.Single(c => c.Protocol == IpProtocol.Udp);
        udp.State.Should().Be(ConnState.Replied);
        udp.SeenReply.Should().BeTrue();
        udp.Assured.Should().BeFalse();
        udp.TimeoutRemaining.TotalSeconds.Should().BeInRange(70, 77);
        var tcp = tracked.Single(c => c.Protocol == IpProtocol.Tcp);
        tcp.State.Should().Be(ConnState.Established);
        tcp.Assured.Should().BeTrue();
        tcp.TimeoutRemaining.TotalSeconds.Should().BeInRange(290, 300);
        bed.Backend.Count.Should().Be(4);

        bed.Ns.Exec("conntrack", "-D", "-p", "tcp");
        bed.PollUntil(() => !bed.Tracks(Tcp), TimeSpan.FromSeconds(10)).Should().BeTrue("imported connections follow the kernel like any other");
    }

    [RootFact]
    public void Dispose_StopsFollowingTheKernelAndLeavesTheActivityObserver()
    {
        using var bed = new SyncBed();
        bed.Sync.Start(bed.Ns.Namespace);
        InsertUdp(bed, Udp, 100);
        bed.Import(Udp, ConnState.Replied, TimeSpan.FromSeconds(100));
        bed.Datapath.ActivityObserver.Should().BeSameAs(bed.Sync);

        bed.Sync.Dispose();
        bed.Ns.Exec("conntrack", "-D", "-p", "udp", "--orig-port-src", "1111");
        bed.PollUntil(() => false, TimeSpan.FromMilliseconds(500));

        bed.Datapath.ActivityObserver.Should().BeNull();
        bed.Tracks(Udp).Should().BeTrue("nothing follows the kernel any more");
        bed.Sync.GetStats().RemovalsRequested.Should().Be(0);
    }
}
