using System.Net;
using System.Net.Sockets;
using Offload.Kernel.Conntrack;
using Offload.Kernel.Tests.Netns;

namespace Offload.Kernel.Tests.Conntrack;

/// <summary>The mirror against the real kernel, with the event socket forced to overflow.</summary>
public sealed class KernelConntrackMirrorKernelTests
{
    // Creates one UDP conntrack entry per source port (loopback, nobody listening: the entry stays UNREPLIED).
    private static void UdpFlows(NetworkNamespace ns, int firstPort, int count) => ns.Enter(() =>
    {
        for (int i = 0; i < count; i++)
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(IPAddress.Loopback, firstPort + i));
            socket.SendTo(new byte[1], new IPEndPoint(IPAddress.Loopback, 9));
        }
        return count;
    });

    private static void PollUntilQuiet(KernelConntrackMirror mirror, CtnetlinkEventListener listener, CtnetlinkClient client, HashSet<(ConntrackTuple, ushort)> consumer)
    {
        var raised = new List<ConntrackEvent>();
        while (mirror.Poll(listener, client, raised) != ConntrackReceiveStatus.TimedOut)
        {
        }
        // What a consumer that only follows the raised events believes.
        foreach (ConntrackEvent e in raised)
        {
            if (e.Kind == ConntrackEventKind.Destroy)
                consumer.Remove((e.Entry.Original, e.Entry.Zone)).Should().BeTrue("a Destroy is only raised for an entry raised before");
            else if (e.Kind == ConntrackEventKind.New)
                consumer.Add((e.Entry.Original, e.Entry.Zone)).Should().BeTrue("a New is only raised for an entry not known");
        }
    }

    private static HashSet<ConntrackTuple> KernelView(NetworkNamespace ns) =>
        ConntrackToolLine.ParseAll(ns.Exec("conntrack", "-L", "-o", "extended")).Select(l => l.Original).ToHashSet();

    [RootFact]
    public void Poll_ThousandsOfEntriesThroughATinyBuffer_EndsEqualToConntrackList()
    {
        using NetworkNamespace ns = NetworkNamespace.Create();
        // Conntrack runs in a namespace only once some rule needs it.
        ns.Exec("nft", "add table inet ct_on; add chain inet ct_on out { type filter hook output priority 0; }; add rule inet ct_on out ct state new counter");
        (CtnetlinkEventListener listener, CtnetlinkClient client) = ns.Enter(() =>
            (CtnetlinkEventListener.Open(ConntrackEventGroups.All, TimeSpan.FromMilliseconds(100), socketBufferBytes: 1), CtnetlinkClient.Open()));
        using var l = listener;
        using var c = client;
        var mirror = new KernelConntrackMirror();
        var consumer = new HashSet<(ConntrackTuple, ushort)>();

        UdpFlows(ns, 20_000, 2000);
        PollUntilQuiet(mirror, listener, client, consumer);
        HashSet<ConntrackTuple> afterCreate = KernelView(ns);

        ns.Exec("conntrack", "-D", "-p", "udp", "--orig-port-dst", "9");
        UdpFlows(ns, 30_000, 500);
        PollUntilQuiet(mirror, listener, client, consumer);
        HashSet<ConntrackTuple> afterChurn = KernelView(ns);

        listener.Overflows.Should().BeGreaterThan(0, "the test is about event loss");
        mirror.Resyncs.Should().Be(listener.Overflows);
        afterCreate.Count.Should().BeGreaterThanOrEqualTo(2000);
        afterChurn.Should().HaveCount(500);
        // Set comparisons: FluentAssertions' structural equivalence is quadratic on hundreds of records.
        afterChurn.SetEquals(mirror.Snapshot().Select(e => e.Original)).Should().BeTrue("the mirror holds exactly what conntrack -L shows");
        afterChurn.SetEquals(consumer.Select(k => k.Item1)).Should().BeTrue("every vanished entry was raised as a Destroy, every missed one as a New");
        afterChurn.Overlaps(afterCreate).Should().BeFalse("the first flows were all deleted");
    }

    [RootFact]
    public void Poll_OverflowWithAReceiveThatWaitsForever_DrainsWithoutWaitingAndResyncs()
    {
        using NetworkNamespace ns = NetworkNamespace.Create();
        ns.Exec("nft", "add table inet ct_on; add chain inet ct_on out { type filter hook output priority 0; }; add rule inet ct_on out ct state new counter");
        // TimeSpan.Zero: a blocking receive never times out, so a drain that waited for a timeout would never end.
        (CtnetlinkEventListener listener, CtnetlinkClient client) = ns.Enter(() =>
            (CtnetlinkEventListener.Open(ConntrackEventGroups.All, TimeSpan.Zero, socketBufferBytes: 1), CtnetlinkClient.Open()));
        using var l = listener;
        using var c = client;
        var mirror = new KernelConntrackMirror();
        UdpFlows(ns, 20_000, 1000);
        var raised = new List<ConntrackEvent>();

        Task<ConntrackReceiveStatus> poll = Task.Factory.StartNew(() => mirror.Poll(listener, client, raised), TaskCreationOptions.LongRunning);

        poll.Wait(TimeSpan.FromSeconds(60)).Should().BeTrue("the drain after the overflow reads only what is queued");
        poll.Result.Should().Be(ConntrackReceiveStatus.Overflow);
        mirror.Resyncs.Should().Be(1);
        HashSet<ConntrackTuple> kernel = KernelView(ns);
        kernel.Count.Should().BeGreaterThanOrEqualTo(1000);
        kernel.SetEquals(mirror.Snapshot().Select(e => e.Original)).Should().BeTrue("the resync made the mirror equal to conntrack -L");
        var events = new List<ConntrackEvent>();
        listener.Receive(events, wait: false).Should().Be(ConntrackReceiveStatus.TimedOut, "nothing is left queued and nothing happened since");
        events.Should().BeEmpty();
    }
}
