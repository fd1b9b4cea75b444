using Offload.Conntrack;
using Offload.Packets;
using static Offload.Conntrack.ConnDirection;

namespace Offload.Tests.Conntrack;

public class ConntrackTableTcpTests
{
    private const TcpFlags Syn = TcpFlags.Syn;
    private const TcpFlags SynAck = TcpFlags.Syn | TcpFlags.Ack;
    private const TcpFlags Ack = TcpFlags.Ack;
    private const TcpFlags FinAck = TcpFlags.Fin | TcpFlags.Ack;
    private const TcpFlags Rst = TcpFlags.Rst;
    private const TcpFlags RstAck = TcpFlags.Rst | TcpFlags.Ack;

    private static (ConntrackFixture F, ConnectionId Id) Established()
    {
        var f = new ConntrackFixture();
        var id = f.Create(ConntrackFixture.Key(IpProtocol.Tcp), Syn);
        f.Send(id, Reply, SynAck);
        f.Send(id, Original, Ack);
        f.Table.Get(id).State.Should().Be(ConnState.Established);
        return (f, id);
    }

    [Fact]
    public void ThreeWayHandshake_ReachesEstablishedWithEachStatesTimeout()
    {
        var f = new ConntrackFixture();
        var id = f.Create(ConntrackFixture.Key(IpProtocol.Tcp), Syn);
        f.Table.Get(id).State.Should().Be(ConnState.SynSent);
        f.Remaining(id).Should().Be(TimeSpan.FromSeconds(120));
        f.Table.CountInState(ConnState.SynSent).Should().Be(1);

        f.Advance(1);
        var synAck = f.Send(id, Reply, SynAck);
        synAck.Should().BeEquivalentTo(new { Verdict = ConntrackVerdict.Accept, State = ConnState.SynRecv, StateChanged = true, TimeoutSeconds = 60 });
        f.Remaining(id).Should().Be(TimeSpan.FromSeconds(60));
        f.Table.Get(id).SeenReply.Should().BeTrue();
        f.Table.Get(id).Assured.Should().BeFalse();

        f.Advance(1);
        var ack = f.Send(id, Original, Ack);
        ack.Should().BeEquivalentTo(new { Verdict = ConntrackVerdict.Accept, State = ConnState.Established, StateChanged = true, TimeoutSeconds = 432_000 });
        var info = f.Table.Get(id);
        info.Assured.Should().BeTrue();
        info.TimeoutRemaining.Should().Be(TimeSpan.FromSeconds(432_000));
        info.OriginalPackets.Should().Be(2);
        info.ReplyPackets.Should().Be(1);
        info.OriginalBytes.Should().Be(200);
        f.Table.CountInState(ConnState.Established).Should().Be(1);
        f.Table.CountInState(ConnState.SynSent).Should().Be(0);
        ConnState.Established.Name().Should().Be("ESTABLISHED");
    }

    [Fact]
    public void SimultaneousOpen_GoesThroughSynSent2ToEstablished()
    {
        var f = new ConntrackFixture();
        var id = f.Create(ConntrackFixture.Key(IpProtocol.Tcp), Syn);

        f.Send(id, Reply, Syn).Should().BeEquivalentTo(new { State = ConnState.SynSent2, TimeoutSeconds = 120 });
        f.Send(id, Original, SynAck).State.Should().Be(ConnState.SynRecv);
        // The peer's own SYN/ACK is a late duplicate of the handshake: let through, nothing changes.
        f.Send(id, Reply, SynAck).Verdict.Should().Be(ConntrackVerdict.Ignored);
        f.Send(id, Original, Ack).State.Should().Be(ConnState.Established);
        f.Table.Get(id).Assured.Should().BeTrue();
        ConnState.SynSent2.Name().Should().Be("SYN_SENT2");
    }

    [Theory]
    [InlineData(Original)]
    [InlineData(Reply)]
    public void Rst_InEstablishedFromEitherSide_ClosesWithCloseTimeout(ConnDirection from)
    {
        var (f, id) = Established();
        var r = f.Send(id, from, RstAck);
        r.Should().BeEquivalentTo(new { Verdict = ConntrackVerdict.Accept, State = ConnState.Close, TimeoutSeconds = 10, IsClosed = true, Removed = false });
        f.Advance(9.9);
        f.Table.Expire().Should().Be(0);
        f.Advance(0.1);
        f.Table.Expire().Should().Be(1);
        f.Removed.Events.Should().ContainSingle().Which.Reason.Should().Be(ConntrackRemoveReason.Timeout);
    }

    [Theory]
    [InlineData(Original)]
    [InlineData(Reply)]
    public void Rst_BeforeAnyReply_DeletesTheEntryAtOnce(ConnDirection from)
    {
        var f = new ConntrackFixture();
        var id = f.Create(ConntrackFixture.Key(IpProtocol.Tcp), Syn);
        var r = f.Send(id, from, from == Reply ? RstAck : Rst);
        r.Removed.Should().BeTrue();
        r.State.Should().Be(ConnState.Close);
        f.Table.Count.Should().Be(0);
        f.Table.Contains(id).Should().BeFalse();
        f.Removed.Events.Should().ContainSingle().Which.Reason.Should().Be(ConntrackRemoveReason.Closed);
    }

    [Theory]
    [InlineData(Original)]
    [InlineData(Reply)]
    public void FinClose_FromEitherSide_WalksToTimeWaitAndExpiresAfter120s(ConnDirection closer)
    {
        var (f, id) = Established();
        var other = closer == Original ? Reply : Original;

        f.Send(id, closer, FinAck).Should().BeEquivalentTo(new { State = ConnState.FinWait, TimeoutSeconds = 120 });
        f.Send(id, other, Ack).Should().BeEquivalentTo(new { State = ConnState.CloseWait, TimeoutSeconds = 60 });
        f.Send(id, other, FinAck).Should().BeEquivalentTo(new { State = ConnState.LastAck, TimeoutSeconds = 30 });
        var last = f.Send(id, closer, Ack);
        last.Should().BeEquivalentTo(new { State = ConnState.TimeWait, TimeoutSeconds = 120, IsClosed = true });

        f.Advance(119.999);
        f.Table.Expire().Should().Be(0);
        f.Table.Contains(id).Should().BeTrue();
        f.Advance(0.001);
        f.Table.Expire().Should().Be(1);
        f.Table.Contains(id).Should().BeFalse();
        f.Table.CountInState(ConnState.TimeWait).Should().Be(0);
    }

    [Fact]
    public void FinBothWaysBeforeAck_GoesToLastAckThenTimeWait()
    {
        var (f, id) = Established();
        f.Send(id, Original, FinAck).State.Should().Be(ConnState.FinWait);
        f.Send(id, Reply, FinAck).State.Should().Be(ConnState.LastAck);
        f.Send(id, Original, Ack).State.Should().Be(ConnState.TimeWait);
    }

    [Theory]
    [InlineData(Original)]
    [InlineData(Reply)]
    public void Syn_InTimeWait_ReopensAsANewConnection(ConnDirection from)
    {
        var (f, id) = Established();
        f.Send(id, Original, FinAck);
        f.Send(id, Reply, FinAck);
        f.Send(id, Original, Ack).State.Should().Be(ConnState.TimeWait);
        var info = f.Table.Get(id);

        var r = f.Send(id, from, Syn);

        r.Verdict.Should().Be(ConntrackVerdict.Reopen);
        r.Removed.Should().BeTrue();
        f.Removed.Events.Should().ContainSingle().Which.Reason.Should().Be(ConntrackRemoveReason.Closed);
        var key = from == Original ? info.Original : info.Reply;
        f.Table.TryCreate(key, ConntrackFixture.Invert(key), ConntrackFixture.Packet(key, Syn), out var fresh)
            .Should().Be(ConntrackCreateResult.Created);
        fresh.Should().NotBe(id);
        f.Table.Get(fresh).State.Should().Be(ConnState.SynSent);
        f.Table.Get(fresh).SeenReply.Should().BeFalse();
    }

    [Fact]
    public void Syn_InCloseAfterOwnRst_Reopens_ButAfterPeersRst_IsIgnored()
    {
        var (f, id) = Established();
        f.Send(id, Original, Rst).State.Should().Be(ConnState.Close);
        f.Send(id, Original, Syn).Verdict.Should().Be(ConntrackVerdict.Reopen);

        var (g, id2) = Established();
        g.Send(id2, Reply, Rst).State.Should().Be(ConnState.Close);
        var r = g.Send(id2, Original, Syn);
        r.Verdict.Should().Be(ConntrackVerdict.Ignored);
        r.State.Should().Be(ConnState.Close);
    }

    [Fact]
    public void Syn_InEstablishedFromOriginal_IsIgnoredWithoutRefreshingTheTimeout()
    {
        var (f, id) = Established();
        f.Advance(10);
        var r = f.Send(id, Original, Syn);
        r.Should().BeEquivalentTo(new { Verdict = ConntrackVerdict.Ignored, State = ConnState.Established, StateChanged = false, TimeoutSeconds = 432_000 - 10 });
        f.Remaining(id).Should().Be(TimeSpan.FromSeconds(432_000 - 10));
    }

    [Theory]
    [InlineData(ConnState.SynSent, Original, Ack)]      // the client cannot ACK before a SYN/ACK
    [InlineData(ConnState.SynSent, Original, SynAck)]
    [InlineData(ConnState.Established, Original, TcpFlags.Fin)]   // FIN without ACK: illegal flag combination
    [InlineData(ConnState.Established, Reply, TcpFlags.Syn | TcpFlags.Fin)]
    [InlineData(ConnState.Established, Original, TcpFlags.None)]
    [InlineData(ConnState.Established, Reply, Syn)]
    public void InvalidPacketForState_IsInvalidAndChangesNothing(ConnState state, ConnDirection dir, TcpFlags flags)
    {
        ConntrackFixture f;
        ConnectionId id;
        if (state == ConnState.SynSent)
        {
            f = new ConntrackFixture();
            id = f.Create(ConntrackFixture.Key(IpProtocol.Tcp), Syn);
        }
        else
        {
            (f, id) = Established();
        }
        var before = f.Table.Get(id);
        f.Advance(1);

        var r = f.Send(id, dir, flags);

        r.IsInvalid.Should().BeTrue();
        r.State.Should().Be(state);
        var after = f.Table.Get(id);
        after.OriginalPackets.Should().Be(before.OriginalPackets);
        after.ReplyPackets.Should().Be(before.ReplyPackets);
        after.TimeoutRemaining.Should().Be(before.TimeoutRemaining - TimeSpan.FromSeconds(1));
    }

    [Fact]
    public void MidStreamAck_IsPickedUpAsEstablished_WithUnacknowledgedTimeoutUntilAnswered()
    {
        var f = new ConntrackFixture();
        var id = f.Create(ConntrackFixture.Key(IpProtocol.Tcp), Ack | TcpFlags.Psh);
        f.Table.Get(id).State.Should().Be(ConnState.Established);
        f.Remaining(id).Should().Be(TimeSpan.FromSeconds(300));

        // The first answer is still judged before SEEN_REPLY is set (as in Linux): capped.
        f.Send(id, Reply, Ack).TimeoutSeconds.Should().Be(300);
        f.Table.Get(id).Assured.Should().BeFalse();

        f.Send(id, Original, Ack).TimeoutSeconds.Should().Be(432_000);
        f.Table.Get(id).Assured.Should().BeTrue();
    }

    [Fact]
    public void MidStreamAck_WithLooseOff_IsInvalid()
    {
        var f = new ConntrackFixture(new ConntrackOptions { TcpLoose = false });
        var key = ConntrackFixture.Key(IpProtocol.Tcp);
        f.Table.TryCreate(key, ConntrackFixture.Invert(key), ConntrackFixture.Packet(key, Ack), out _)
            .Should().Be(ConntrackCreateResult.Invalid);
        f.Table.TryCreate(key, ConntrackFixture.Invert(key), ConntrackFixture.Packet(key, Syn), out _)
            .Should().Be(ConntrackCreateResult.Created);
    }

    [Theory]
    [InlineData(TcpFlags.Rst)]
    [InlineData(TcpFlags.Rst | TcpFlags.Ack)]
    [InlineData(TcpFlags.Fin | TcpFlags.Ack)]
    [InlineData(TcpFlags.Fin)]
    [InlineData(TcpFlags.Syn | TcpFlags.Ack)]
    [InlineData(TcpFlags.Syn | TcpFlags.Fin)]
    [InlineData(TcpFlags.Syn | TcpFlags.Rst)]
    [InlineData(TcpFlags.None)]
    [InlineData(TcpFlags.Psh)]
    public void TryCreate_FirstPacketThatCannotStartAConnection_IsInvalid(TcpFlags flags)
    {
        var f = new ConntrackFixture();
        var key = ConntrackFixture.Key(IpProtocol.Tcp);
        f.Table.TryCreate(key, ConntrackFixture.Invert(key), ConntrackFixture.Packet(key, flags), out var id)
            .Should().Be(ConntrackCreateResult.Invalid);
        id.IsNone.Should().BeTrue();
        f.Table.Count.Should().Be(0);
    }

    [Fact]
    public void FastPathOverload_AdvancesTheSameStateMachine()
    {
        var f = new ConntrackFixture();
        var id = f.Create(ConntrackFixture.Key(IpProtocol.Tcp), Syn);
        long now = f.Time.GetTimestamp();
        f.Table.Update(id, Reply, SynAck, 0, 60, now).State.Should().Be(ConnState.SynRecv);
        f.Table.Update(id, Original, Ack | TcpFlags.Psh, 0, 1500, now).State.Should().Be(ConnState.Established);
        f.Table.Get(id).OriginalBytes.Should().Be(1600);
        f.Table.Get(id).ReplyBytes.Should().Be(60);
    }
}
