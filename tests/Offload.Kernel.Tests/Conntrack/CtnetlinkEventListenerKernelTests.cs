using Offload.Kernel.Conntrack;
using Offload.Kernel.Tests.Netns;
using Offload.Packets;

namespace Offload.Kernel.Tests.Conntrack;

/// <summary>ctnetlink events from the real kernel, in a private network namespace.</summary>
public sealed class CtnetlinkEventListenerKernelTests
{
    private static readonly ConntrackTuple Udp = new(NetAddress.Parse("10.9.0.1"), NetAddress.Parse("10.9.0.2"), IpProtocol.Udp, 1111, 2222);

    private static readonly string[] UdpArgs = ["-p", "udp", "-s", "10.9.0.1", "-d", "10.9.0.2", "--sport", "1111", "--dport", "2222"];

    private static List<ConntrackEvent> Collect(CtnetlinkEventListener listener, int count)
    {
        var events = new List<ConntrackEvent>();
        while (events.Count < count)
        {
            ConntrackReceiveStatus status = listener.Receive(events);
            status.Should().Be(ConntrackReceiveStatus.Received, "{0} of {1} events arrived", events.Count, count);
        }
        return events;
    }

    [RootFact]
    public void Receive_InsertUpdateDelete_ReportsNewUpdateDestroy()
    {
        using NetworkNamespace ns = NetworkNamespace.Create();
        using CtnetlinkEventListener listener = ns.Enter(() => CtnetlinkEventListener.Open(ConntrackEventGroups.All, TimeSpan.FromSeconds(3)));

        ns.Exec("conntrack", ["-I", .. UdpArgs, "-t", "100"]);
        ns.Exec("conntrack", ["-U", .. UdpArgs, "-m", "7"]);
        ns.Exec("conntrack", ["-D", .. UdpArgs]);

        List<ConntrackEvent> events = Collect(listener, 3);
        events.Select(e => e.Kind).Should().Equal(ConntrackEventKind.New, ConntrackEventKind.Update, ConntrackEventKind.Destroy);
        events.Should().OnlyContain(e => e.Entry.Original == Udp);
        events[1].Entry.Mark.Should().Be(7);
        listener.MalformedEvents.Should().Be(0);

        var none = new List<ConntrackEvent>();
        using CtnetlinkEventListener quiet = ns.Enter(() => CtnetlinkEventListener.Open(ConntrackEventGroups.All, TimeSpan.FromMilliseconds(200)));
        quiet.Receive(none).Should().Be(ConntrackReceiveStatus.TimedOut);
        none.Should().BeEmpty();
    }

    [RootFact]
    public void Receive_OnlyDestroyGroup_SeesOnlyDestroy()
    {
        using NetworkNamespace ns = NetworkNamespace.Create();
        using CtnetlinkEventListener listener = ns.Enter(() => CtnetlinkEventListener.Open(ConntrackEventGroups.Destroy, TimeSpan.FromSeconds(3)));

        ns.Exec("conntrack", ["-I", .. UdpArgs, "-t", "100"]);
        ns.Exec("conntrack", ["-D", .. UdpArgs]);

        List<ConntrackEvent> events = Collect(listener, 1);
        events.Should().ContainSingle().Which.Kind.Should().Be(ConntrackEventKind.Destroy);
    }

    [RootFact]
    public void Receive_MoreEventsThanTheSocketBufferHolds_ReportsOverflow()
    {
        using NetworkNamespace ns = NetworkNamespace.Create();
        // The kernel clamps SO_RCVBUF to its minimum (a few KiB): a handful of events fill it.
        using CtnetlinkEventListener listener = ns.Enter(() =>
            CtnetlinkEventListener.Open(ConntrackEventGroups.New, TimeSpan.FromSeconds(1), socketBufferBytes: 1));
        for (int i = 0; i < 40; i++)
            ns.Exec("conntrack", "-I", "-p", "udp", "-s", "10.9.0.1", "-d", "10.9.0.2", "--sport", (1000 + i).ToString(System.Globalization.CultureInfo.InvariantCulture), "--dport", "53", "-t", "100");

        var events = new List<ConntrackEvent>();
        ConntrackReceiveStatus first = listener.Receive(events);

        first.Should().Be(ConntrackReceiveStatus.Overflow);
        listener.Overflows.Should().Be(1);
        // After the overflow the queued events are still readable; fewer than were generated.
        while (listener.Receive(events) == ConntrackReceiveStatus.Received)
        {
        }
        events.Count.Should().BeInRange(1, 39);
    }
}
