using CsCheck;
using Offload.Conntrack;
using Offload.Flows;
using Offload.Packets;

namespace Offload.Tests.Conntrack;

public class ConntrackTableExpiryTests
{
    [Fact]
    public void Expire_AtTheDeadlineExactly_NotBefore()
    {
        var f = new ConntrackFixture();
        f.Advance(0.37); // deadline in the middle of a wheel second
        var id = f.Create(ConntrackFixture.Key(IpProtocol.Udp));

        f.Advance(30 - 1e-7 * 10);
        f.Table.Expire().Should().Be(0);
        f.Table.Contains(id).Should().BeTrue();
        f.Advance(1e-7 * 10);
        f.Table.Expire().Should().Be(1);
        f.Removed.Events.Should().ContainSingle().Which.Should().Match<(ConnectionId Id, ConnectionInfo Info, ConntrackRemoveReason Reason)>(
            e => e.Id == id && e.Reason == ConntrackRemoveReason.Timeout);
        f.Table.Count.Should().Be(0);
        f.Table.CountInState(ConnState.Unreplied).Should().Be(0);
    }

    [Fact]
    public void Refresh_PostponesExpiry()
    {
        var f = new ConntrackFixture();
        var id = f.Create(ConntrackFixture.Key(IpProtocol.Udp));
        f.Advance(20);
        f.Send(id, ConnDirection.Original);
        f.Advance(15);
        f.Table.Expire().Should().Be(0);
        f.Advance(14.9);
        f.Table.Expire().Should().Be(0);
        f.Advance(0.1);
        f.Table.Expire().Should().Be(1);
    }

    [Fact]
    public void Established_FiveDayTimeout_ExpiresThroughManyWheelTurns()
    {
        var f = new ConntrackFixture();
        var id = f.Create(ConntrackFixture.Key(IpProtocol.Tcp), TcpFlags.Syn);
        f.Send(id, ConnDirection.Reply, TcpFlags.Syn | TcpFlags.Ack);
        f.Send(id, ConnDirection.Original, TcpFlags.Ack);
        for (int hour = 1; hour < 120; hour++)
        {
            f.Advance(3600);
            f.Table.Expire().Should().Be(0);
        }
        f.Advance(3599);
        f.Table.Expire().Should().Be(0);
        f.Remaining(id).Should().Be(TimeSpan.FromSeconds(1));
        f.Advance(1);
        f.Table.Expire().Should().Be(1);
    }

    [Fact]
    public void Expire_AfterAJumpLongerThanTheWheel_RemovesOnlyTheDue()
    {
        var f = new ConntrackFixture();
        var established = f.Create(ConntrackFixture.Key(IpProtocol.Tcp), TcpFlags.Syn);
        f.Send(established, ConnDirection.Reply, TcpFlags.Syn | TcpFlags.Ack);
        f.Send(established, ConnDirection.Original, TcpFlags.Ack);
        var udp = f.Create(ConntrackFixture.Key(IpProtocol.Udp));
        f.Advance(3 * 86_400);
        f.Table.Expire().Should().Be(1);
        f.Table.Contains(udp).Should().BeFalse();
        f.Table.Contains(established).Should().BeTrue();
        f.Advance(2 * 86_400);
        f.Table.Expire().Should().Be(1);
    }

    [Fact]
    public void ShortenedTimeout_ExpiresOnTheNewDeadline()
    {
        var f = new ConntrackFixture();
        var id = f.Create(ConntrackFixture.Key(IpProtocol.Tcp), TcpFlags.Syn);
        f.Send(id, ConnDirection.Reply, TcpFlags.Syn | TcpFlags.Ack);
        f.Send(id, ConnDirection.Original, TcpFlags.Ack);
        f.Advance(5);
        f.Table.Expire();
        f.Send(id, ConnDirection.Reply, TcpFlags.Rst).TimeoutSeconds.Should().Be(10);
        f.Advance(10);
        f.Table.Expire().Should().Be(1);
    }

    [Fact]
    public void Update_OnADueEntryNotYetReaped_ReportsItGone()
    {
        var f = new ConntrackFixture();
        var id = f.Create(ConntrackFixture.Key(IpProtocol.Udp));
        f.Advance(30);
        var r = f.Table.Update(id, ConnDirection.Original, ConntrackFixture.Packet(ConntrackFixture.Key(IpProtocol.Udp)));
        r.Verdict.Should().Be(ConntrackVerdict.NotFound);
        r.Removed.Should().BeTrue();
        f.Removed.Events.Should().ContainSingle().Which.Reason.Should().Be(ConntrackRemoveReason.Timeout);
        f.Table.Expire().Should().Be(0);
    }

    /// <summary>
    /// Model test: random creates, packets (which lengthen and shorten timeouts), clock advances and expiries;
    /// after every Expire the set removed must be exactly the set a brute-force scan of the deadlines finds due.
    /// </summary>
    [Fact]
    public void Expire_RemovesExactlyWhatABruteForceScanFinds()
    {
        var op = Gen.Select(Gen.Int[0, 9], Gen.Int[0, 47], Gen.Int[0, 1_000_000]);
        op.Array[1, 400].Sample(ops =>
        {
            var f = new ConntrackFixture();
            long freq = f.Time.TimestampFrequency;
            var deadlines = new Dictionary<ConnectionId, long>();
            var ids = new ConnectionId[48];
            foreach (var (kind, which, amount) in ops)
            {
                long now = f.Time.GetTimestamp();
                switch (kind)
                {
                    case 0 or 1:
                    {
                        byte proto = (which % 3) switch { 0 => IpProtocol.Tcp, 1 => IpProtocol.Udp, _ => IpProtocol.Gre };
                        var key = ConntrackFixture.Key(proto, (ushort)(1000 + which));
                        var first = ConntrackFixture.Packet(key, amount % 2 == 0 ? TcpFlags.Syn : TcpFlags.Ack);
                        int seen = f.Removed.Events.Count;
                        var result = f.Table.TryCreate(key, ConntrackFixture.Invert(key), first, out var id);
                        // A due entry holding the tuple is reaped by the create itself.
                        foreach (var e in f.Removed.Events.Skip(seen))
                            deadlines.Remove(e.Id);
                        if (result == ConntrackCreateResult.Created)
                        {
                            ids[which] = id;
                            deadlines[id] = now + (long)f.Remaining(id).TotalSeconds * freq;
                        }
                        break;
                    }
                    case 2 or 3 or 4:
                    {
                        var id = ids[which];
                        if (!f.Table.Contains(id))
                            break;
                        var flags = (amount % 6) switch
                        {
                            0 => TcpFlags.Syn, 1 => TcpFlags.Syn | TcpFlags.Ack, 2 => TcpFlags.Ack,
                            3 => TcpFlags.Fin | TcpFlags.Ack, 4 => TcpFlags.Rst, _ => TcpFlags.Ack | TcpFlags.Psh,
                        };
                        var r = f.Table.Update(id, (ConnDirection)(amount / 6 % 2), flags, 0, 60, now);
                        if (r.Removed)
                            deadlines.Remove(id);
                        else if (r.Verdict == ConntrackVerdict.Accept)
                            deadlines[id] = now + r.TimeoutSeconds * freq;
                        break;
                    }
                    case 5 or 6 or 7:
                        f.Time.Advance(TimeSpan.FromTicks(amount * (kind == 7 ? 500_000L : 1_000L)));
                        break;
                    default:
                    {
                        f.Removed.Events.Clear();
                        f.Table.Expire(now);
                        var expected = deadlines.Where(d => d.Value <= now).Select(d => d.Key).ToHashSet();
                        f.Removed.Events.Select(e => e.Id).Should().BeEquivalentTo(expected);
                        f.Removed.Events.Where(e => e.Reason != ConntrackRemoveReason.Timeout).Should().BeEmpty();
                        foreach (var id in expected)
                            deadlines.Remove(id);
                        f.Table.Count.Should().Be(deadlines.Count);
                        break;
                    }
                }
            }
        }, iter: 600);
    }
}
