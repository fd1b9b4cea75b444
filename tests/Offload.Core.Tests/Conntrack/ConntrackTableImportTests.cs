using Offload.Conntrack;
using Offload.Packets;

namespace Offload.Tests.Conntrack;

public class ConntrackTableImportTests
{
    [Fact]
    public void TryImport_TcpEstablished_StateTimeoutAndFlagsAsGivenNoPacketsCounted()
    {
        var f = new ConntrackFixture();
        var key = ConntrackFixture.Key(IpProtocol.Tcp);

        f.Table.TryImport(key, ConntrackFixture.Invert(key), ConnState.Established, TimeSpan.FromSeconds(300), seenReply: true,
            assured: true, out var id).Should().Be(ConntrackCreateResult.Created);

        var info = f.Table.Get(id);
        info.State.Should().Be(ConnState.Established);
        info.TimeoutRemaining.Should().Be(TimeSpan.FromSeconds(300));
        info.SeenReply.Should().BeTrue();
        info.Assured.Should().BeTrue();
        (info.OriginalPackets + info.ReplyPackets).Should().Be(0);
        f.Table.CountInState(ConnState.Established).Should().Be(1);
        f.Table.TryLookup(ConntrackFixture.Invert(key), out var found, out var direction).Should().BeTrue();
        found.Should().Be(id);
        direction.Should().Be(ConnDirection.Reply);
    }

    [Fact]
    public void TryImport_NoPacketsFollow_ExpiresWhenTheRemainingTimeRunsOut()
    {
        var f = new ConntrackFixture();
        var key = ConntrackFixture.Key(IpProtocol.Udp);
        f.Table.TryImport(key, ConntrackFixture.Invert(key), ConnState.Replied, TimeSpan.FromSeconds(7), false, false, out var id)
            .Should().Be(ConntrackCreateResult.Created);

        f.Advance(6.9);
        f.Table.Expire().Should().Be(0);
        f.Advance(0.2);
        f.Table.Expire().Should().Be(1);
        f.Removed.Events.Should().ContainSingle().Which.Id.Should().Be(id);
    }

    [Fact]
    public void TryImport_LaterPackets_AdvanceTheImportedState()
    {
        var f = new ConntrackFixture();
        var key = ConntrackFixture.Key(IpProtocol.Tcp);
        f.Table.TryImport(key, ConntrackFixture.Invert(key), ConnState.Established, TimeSpan.FromSeconds(300), true, true, out var id);

        f.Send(id, ConnDirection.Original, TcpFlags.Fin | TcpFlags.Ack).State.Should().Be(ConnState.FinWait);
        f.Send(id, ConnDirection.Reply, TcpFlags.Fin | TcpFlags.Ack).State.Should().Be(ConnState.LastAck);
        f.Send(id, ConnDirection.Original, TcpFlags.Ack).State.Should().Be(ConnState.TimeWait);
    }

    [Fact]
    public void TryImport_TimeWaitThenSyn_ReopensLikeAFinClosedConnection()
    {
        var f = new ConntrackFixture();
        var key = ConntrackFixture.Key(IpProtocol.Tcp);
        f.Table.TryImport(key, ConntrackFixture.Invert(key), ConnState.TimeWait, TimeSpan.FromSeconds(100), true, true, out var id);

        f.Send(id, ConnDirection.Original, TcpFlags.Syn).Verdict.Should().Be(ConntrackVerdict.Reopen);
        f.Removed.Events.Should().ContainSingle().Which.Reason.Should().Be(ConntrackRemoveReason.Closed);
    }

    [Fact]
    public void TryImport_EitherTupleTracked_Exists()
    {
        var f = new ConntrackFixture();
        var key = ConntrackFixture.Key(IpProtocol.Udp);
        var created = f.Create(key);

        f.Table.TryImport(ConntrackFixture.Invert(key), key, ConnState.Replied, TimeSpan.FromSeconds(30), false, false, out var id)
            .Should().Be(ConntrackCreateResult.Exists);
        id.Should().Be(created);
        f.Table.Count.Should().Be(1);
    }

    [Fact]
    public void TryImport_TableFullOfUnassured_FullAndNothingEvicted()
    {
        var f = new ConntrackFixture(new ConntrackOptions { MaxEntries = 1, InitialCapacity = 1 });
        f.Create(ConntrackFixture.Key(IpProtocol.Udp, srcPort: 1));
        var key = ConntrackFixture.Key(IpProtocol.Udp, srcPort: 2);

        f.Table.TryImport(key, ConntrackFixture.Invert(key), ConnState.Replied, TimeSpan.FromSeconds(30), false, false, out _)
            .Should().Be(ConntrackCreateResult.Full);
        f.Removed.Events.Should().BeEmpty("an import never evicts a tracked connection");
    }

    [Fact]
    public void TryImport_NotAssured_IsEarlyDroppedFirst()
    {
        var f = new ConntrackFixture(new ConntrackOptions { MaxEntries = 2, InitialCapacity = 2 });
        var a = ConntrackFixture.Key(IpProtocol.Udp, srcPort: 1);
        var b = ConntrackFixture.Key(IpProtocol.Udp, srcPort: 2);
        f.Table.TryImport(a, ConntrackFixture.Invert(a), ConnState.Assured, TimeSpan.FromSeconds(100), false, false, out _);
        f.Table.TryImport(b, ConntrackFixture.Invert(b), ConnState.Unreplied, TimeSpan.FromSeconds(100), false, false, out var unassured);

        f.Create(ConntrackFixture.Key(IpProtocol.Udp, srcPort: 3));

        f.Removed.Events.Should().ContainSingle().Which.Should().Match<(ConnectionId Id, ConnectionInfo Info, ConntrackRemoveReason Reason)>(
            e => e.Id == unassured && e.Reason == ConntrackRemoveReason.EarlyDrop);
    }

    [Theory]
    [InlineData(IpProtocol.Udp, ConnState.Established, 30)]
    [InlineData(IpProtocol.Tcp, ConnState.Replied, 30)]
    [InlineData(IpProtocol.Tcp, ConnState.None, 30)]
    [InlineData(IpProtocol.Udp, ConnState.Replied, 0)]
    [InlineData(IpProtocol.Udp, ConnState.Replied, -1)]
    [InlineData(IpProtocol.Udp, ConnState.Replied, ConntrackTimeouts.MaxSeconds + 1)]
    public void TryImport_StateNotOfTheProtocolOrTimeoutOutOfRange_Invalid(byte protocol, ConnState state, int seconds)
    {
        var f = new ConntrackFixture();
        var key = ConntrackFixture.Key(protocol);

        f.Table.TryImport(key, ConntrackFixture.Invert(key), state, TimeSpan.FromSeconds(seconds), false, false, out var id)
            .Should().Be(ConntrackCreateResult.Invalid);
        id.IsNone.Should().BeTrue();
        f.Table.Count.Should().Be(0);
    }
}
