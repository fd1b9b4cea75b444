using CsCheck;
using Offload.Conntrack;
using Offload.Packets;

namespace Offload.Tests.Conntrack;

public class ConntrackTablePropertyTests
{
    [Fact]
    public void RandomPacketSequences_NeverThrow_AndKeepStatesAndCountsConsistent()
    {
        var packet = Gen.Select(Gen.Byte, Gen.Bool, Gen.Int[0, 3_000_000], Gen.Byte[0, 15]);
        Gen.Select(Gen.Int[0, 3].Select(i => new[] { IpProtocol.Tcp, IpProtocol.Udp, IpProtocol.Icmp, (byte)132 }[i]), Gen.Byte, packet.Array[0, 60])
           .Sample((proto, firstFlags, packets) =>
        {
            var f = new ConntrackFixture();
            var key = proto == IpProtocol.Icmp
                ? ConntrackFixture.Key(proto, 9, 8 << 8)
                : ConntrackFixture.Key(proto);
            var result = f.Table.TryCreate(key, ConntrackFixture.Invert(key), ConntrackFixture.Packet(key, (TcpFlags)firstFlags), out var id);
            result.Should().BeOneOf(ConntrackCreateResult.Created, ConntrackCreateResult.Invalid);
            if (result == ConntrackCreateResult.Invalid)
                return;
            foreach (var (flags, reply, advance, icmpType) in packets)
            {
                f.Time.Advance(TimeSpan.FromTicks(advance));
                var r = f.Table.Update(id, reply ? ConnDirection.Reply : ConnDirection.Original, (TcpFlags)flags, icmpType, 64, f.Time.GetTimestamp());
                f.Table.Expire();
                if (!f.Table.Contains(id))
                {
                    f.Table.Count.Should().Be(0);
                    return;
                }
                var state = f.Table.Get(id).State;
                r.Verdict.Should().NotBe(ConntrackVerdict.NotFound);
                r.State.Should().Be(state);
                if (proto == IpProtocol.Tcp)
                    ((int)state).Should().BeInRange((int)ConnState.SynSent, (int)ConnState.SynSent2);
                else
                    state.Should().BeOneOf(ConnState.Unreplied, ConnState.Replied, ConnState.Assured);
                f.Table.CountInState(state).Should().Be(1);
                r.TimeoutSeconds.Should().BeInRange(0, 432_000);
            }
        }, iter: 4_000);
    }

    [Fact]
    public void StateNames_AreDistinctAndUpperCase()
    {
        var names = Enum.GetValues<ConnState>().Select(s => s.Name()).ToList();
        names.Should().OnlyHaveUniqueItems().And.OnlyContain(n => n == n.ToUpperInvariant() && n.Length > 0);
        ConnState.SynRecv.Name().Should().Be("SYN_RECV");
        ConnState.TimeWait.Name().Should().Be("TIME_WAIT");
        ConnState.None.Name().Should().Be("NONE");
    }
}
