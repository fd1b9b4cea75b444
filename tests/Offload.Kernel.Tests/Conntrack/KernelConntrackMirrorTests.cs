using Offload.Kernel.Conntrack;
using Offload.Packets;

namespace Offload.Kernel.Tests.Conntrack;

/// <summary>The mirror's bookkeeping, from synthetic events and dumps.</summary>
public sealed class KernelConntrackMirrorTests
{
    private static KernelConntrackEntry Entry(ushort sport, uint id) => new()
    {
        Original = new ConntrackTuple(NetAddress.Parse("10.0.0.1"), NetAddress.Parse("10.0.0.2"), IpProtocol.Udp, sport, 53),
        Reply = new ConntrackTuple(NetAddress.Parse("10.0.0.2"), NetAddress.Parse("10.0.0.1"), IpProtocol.Udp, 53, sport),
        Id = id,
    };

    [Fact]
    public void Apply_NewUpdateDestroy_RaisesEachOnceAndForgets()
    {
        var mirror = new KernelConntrackMirror();
        var raised = new List<ConntrackEvent>();

        mirror.Apply(new ConntrackEvent(ConntrackEventKind.New, Entry(1, 7)), raised);
        mirror.Apply(new ConntrackEvent(ConntrackEventKind.Update, Entry(1, 7) with { Mark = 3 }), raised);
        mirror.TryGet(Entry(1, 7).Original, 0, out KernelConntrackEntry known).Should().BeTrue();
        known.Mark.Should().Be(3);
        mirror.Apply(new ConntrackEvent(ConntrackEventKind.Destroy, Entry(1, 7)), raised);

        raised.Select(e => e.Kind).Should().Equal(ConntrackEventKind.New, ConntrackEventKind.Update, ConntrackEventKind.Destroy);
        mirror.Count.Should().Be(0);
    }

    [Fact]
    public void Apply_UpdateOfUnknownEntry_RaisedAsNew_DestroyOfUnknownIgnored()
    {
        var mirror = new KernelConntrackMirror();
        var raised = new List<ConntrackEvent>();

        mirror.Apply(new ConntrackEvent(ConntrackEventKind.Destroy, Entry(2, 9)), raised);
        mirror.Apply(new ConntrackEvent(ConntrackEventKind.Update, Entry(1, 7)), raised);

        raised.Should().ContainSingle().Which.Kind.Should().Be(ConntrackEventKind.New);
        mirror.Count.Should().Be(1);
    }

    [Fact]
    public void Apply_SameTupleNewId_RaisesDestroyOfOldThenNew_AndLateDestroyOfOldIsIgnored()
    {
        var mirror = new KernelConntrackMirror();
        var raised = new List<ConntrackEvent>();
        mirror.Apply(new ConntrackEvent(ConntrackEventKind.New, Entry(1, 7)), raised);
        raised.Clear();

        mirror.Apply(new ConntrackEvent(ConntrackEventKind.New, Entry(1, 8)), raised);
        mirror.Apply(new ConntrackEvent(ConntrackEventKind.Destroy, Entry(1, 7)), raised);

        raised.Select(e => (e.Kind, e.Entry.Id)).Should().Equal((ConntrackEventKind.Destroy, 7u), (ConntrackEventKind.New, 8u));
        mirror.TryGet(Entry(1, 8).Original, 0, out KernelConntrackEntry current).Should().BeTrue();
        current.Id.Should().Be(8);
    }

    [Fact]
    public void Resync_DumpWithVanishedMissedAndRecreatedEntries_RaisesDestroyAndNew()
    {
        var mirror = new KernelConntrackMirror();
        var raised = new List<ConntrackEvent>();
        foreach (ushort port in (ushort[])[1, 2, 3])
            mirror.Apply(new ConntrackEvent(ConntrackEventKind.New, Entry(port, port)), raised);
        raised.Clear();

        // 1 stays, 2 vanished, 3 was recreated (new id), 4 was missed.
        mirror.Resync([Entry(1, 1), Entry(3, 30), Entry(4, 4)], raised);

        raised.Where(e => e.Kind == ConntrackEventKind.Destroy).Select(e => e.Entry.Id).Should().BeEquivalentTo([2u, 3u]);
        raised.Where(e => e.Kind == ConntrackEventKind.New).Select(e => e.Entry.Id).Should().BeEquivalentTo([30u, 4u]);
        mirror.Snapshot().Select(e => e.Id).Should().BeEquivalentTo([1u, 30u, 4u]);
        mirror.Resyncs.Should().Be(1);
    }
}
