using CsCheck;
using Offload.Conntrack;
using Offload.Flows;
using Offload.Packets;

namespace Offload.Tests.Conntrack;

public class ConntrackTableLookupTests
{
    [Fact]
    public void TryLookup_MatchesBothTuples_IgnoringInPort_ButNotOtherZones()
    {
        var f = new ConntrackFixture();
        var key = ConntrackFixture.Key(IpProtocol.Udp, inPort: 3);
        var id = f.Create(key);
        var reply = f.Table.Get(id).Reply;

        f.Table.TryLookup(key.WithInPort(9, key.Vni), out var a, out var da).Should().BeTrue();
        a.Should().Be(id);
        da.Should().Be(ConnDirection.Original);
        f.Table.TryLookup(reply.WithInPort(0, reply.Vni), out var b, out var db).Should().BeTrue();
        b.Should().Be(id);
        db.Should().Be(ConnDirection.Reply);
        f.Table.TryLookup(key.WithInPort(3, key.Vni + 1), out _, out _).Should().BeFalse();
    }

    [Fact]
    public void TryCreate_EitherTupleAlreadyTracked_ReturnsExistsWithThatId()
    {
        var f = new ConntrackFixture();
        var key = ConntrackFixture.Key(IpProtocol.Udp);
        var id = f.Create(key);
        var reply = ConntrackFixture.Invert(key);

        f.Table.TryCreate(key.WithInPort(7, key.Vni), reply, ConntrackFixture.Packet(key), out var again).Should().Be(ConntrackCreateResult.Exists);
        again.Should().Be(id);
        f.Table.TryCreate(reply, key, ConntrackFixture.Packet(reply), out var fromReply).Should().Be(ConntrackCreateResult.Exists);
        fromReply.Should().Be(id);
        f.Table.Count.Should().Be(1);
    }

    [Fact]
    public void StaleId_AfterRemoval_IsRejectedEvenWhenTheSlotIsReused()
    {
        var f = new ConntrackFixture();
        var id = f.Create(ConntrackFixture.Key(IpProtocol.Udp, 1000));
        f.Table.Remove(id, ConntrackRemoveReason.Explicit).Should().BeTrue();
        f.Removed.Events.Should().ContainSingle().Which.Should().Match<(ConnectionId Id, ConnectionInfo Info, ConntrackRemoveReason Reason)>(
            e => e.Id == id && e.Reason == ConntrackRemoveReason.Explicit && e.Info.Original.SrcPort == 1000);

        var reused = f.Create(ConntrackFixture.Key(IpProtocol.Udp, 2000));
        reused.Slot.Should().Be(id.Slot);
        reused.Should().NotBe(id);

        f.Table.Contains(id).Should().BeFalse();
        f.Table.TryGet(id, out _).Should().BeFalse();
        f.Table.Invoking(t => t.Get(id)).Should().Throw<ArgumentException>();
        f.Table.Remove(id, ConntrackRemoveReason.Explicit).Should().BeFalse();
        f.Table.Update(id, ConnDirection.Reply, ConntrackFixture.Packet(ConntrackFixture.Key(IpProtocol.Udp, 2000)))
            .Verdict.Should().Be(ConntrackVerdict.NotFound);
        f.Table.Get(reused).ReplyPackets.Should().Be(0);
        f.Table.Contains(ConnectionId.None).Should().BeFalse();
        f.Table.TryLookup(ConntrackFixture.Key(IpProtocol.Udp, 1000), out _, out _).Should().BeFalse();
    }

    [Fact]
    public void Index_RandomCreatesAndRemoves_AgreeWithAModel()
    {
        // Few distinct ports so creates and removes collide on the same tuples; InitialCapacity 1 forces growth.
        Gen.Select(Gen.Bool, Gen.Int[0, 3000]).Array[1, 3000].Sample(ops =>
        {
            var f = new ConntrackFixture(new ConntrackOptions { InitialCapacity = 1 });
            var model = new Dictionary<ushort, ConnectionId>();
            foreach (var (create, n) in ops)
            {
                ushort port = (ushort)n;
                var key = ConntrackFixture.Key(IpProtocol.Udp, port);
                if (create)
                {
                    var r = f.Table.TryCreate(key, ConntrackFixture.Invert(key), ConntrackFixture.Packet(key), out var id);
                    r.Should().Be(model.ContainsKey(port) ? ConntrackCreateResult.Exists : ConntrackCreateResult.Created);
                    model[port] = id;
                }
                else if (model.Remove(port, out var id))
                {
                    f.Table.Remove(id, ConntrackRemoveReason.Explicit).Should().BeTrue();
                }
            }
            f.Table.Count.Should().Be(model.Count);
            for (ushort port = 0; port <= 3000; port++)
            {
                var key = ConntrackFixture.Key(IpProtocol.Udp, port);
                bool found = f.Table.TryLookup(key, out var id, out var dir);
                found.Should().Be(model.ContainsKey(port));
                if (found)
                {
                    id.Should().Be(model[port]);
                    dir.Should().Be(ConnDirection.Original);
                    f.Table.TryLookup(ConntrackFixture.Invert(key), out var rid, out var rdir).Should().BeTrue();
                    rid.Should().Be(id);
                    rdir.Should().Be(ConnDirection.Reply);
                }
            }
        }, iter: 100);
    }

    [Fact]
    public void Snapshot_ListsEveryLiveConnection()
    {
        var f = new ConntrackFixture();
        var a = f.Create(ConntrackFixture.Key(IpProtocol.Udp, 1));
        var b = f.Create(ConntrackFixture.Key(IpProtocol.Udp, 2));
        var c = f.Create(ConntrackFixture.Key(IpProtocol.Udp, 3));
        f.Table.Remove(b, ConntrackRemoveReason.Explicit);
        f.Table.Snapshot().Select(i => i.Id).Should().BeEquivalentTo([a, c]);
    }

    [Fact]
    public void Observer_ModifyingTheTable_Throws()
    {
        var f = new ConntrackFixture();
        var a = f.Create(ConntrackFixture.Key(IpProtocol.Udp, 1));
        var b = f.Create(ConntrackFixture.Key(IpProtocol.Udp, 2));
        f.Table.Observer = new RemovingObserver(f.Table, b);
        f.Table.Invoking(t => t.Remove(a, ConntrackRemoveReason.Explicit)).Should().Throw<InvalidOperationException>();
    }

    private sealed class RemovingObserver(ConntrackTable table, ConnectionId other) : IConntrackObserver
    {
        public void OnRemoved(ConnectionId id, in ConnectionInfo info, ConntrackRemoveReason reason) =>
            table.Remove(other, ConntrackRemoveReason.Explicit);
    }
}
