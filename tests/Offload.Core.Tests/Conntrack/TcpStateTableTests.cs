using Offload.Conntrack;
using Offload.Packets;
using static Offload.Conntrack.ConnDirection;

namespace Offload.Tests.Conntrack;

public class TcpStateTableTests
{
    private const byte IV = TcpStateTable.Invalid;
    private const byte IG = TcpStateTable.Ignore;

    [Theory]
    [InlineData(Original, TcpFlags.Syn, ConnState.None, (byte)ConnState.SynSent)]
    [InlineData(Original, TcpFlags.Ack, ConnState.None, (byte)ConnState.Established)]          // loose pickup
    [InlineData(Original, TcpFlags.Syn | TcpFlags.Ack, ConnState.None, IV)]
    [InlineData(Reply, TcpFlags.Syn, ConnState.SynSent, (byte)ConnState.SynSent2)]           // simultaneous open
    [InlineData(Reply, TcpFlags.Ack, ConnState.SynSent, IG)]                                  // half-open: ignore
    [InlineData(Reply, TcpFlags.Ack, ConnState.SynRecv, (byte)ConnState.SynRecv)]
    [InlineData(Original, TcpFlags.Fin | TcpFlags.Ack, ConnState.SynRecv, (byte)ConnState.FinWait)]
    [InlineData(Original, TcpFlags.Syn, ConnState.Established, IG)]
    [InlineData(Reply, TcpFlags.Syn | TcpFlags.Ack, ConnState.Established, IG)]
    [InlineData(Original, TcpFlags.Syn | TcpFlags.Ack, ConnState.Established, IV)]
    [InlineData(Reply, TcpFlags.Syn, ConnState.TimeWait, (byte)ConnState.SynSent)]           // re-open from the other end
    [InlineData(Original, TcpFlags.Syn, ConnState.Close, (byte)ConnState.SynSent)]
    [InlineData(Reply, TcpFlags.Syn, ConnState.Close, IV)]
    [InlineData(Original, TcpFlags.Ack, ConnState.LastAck, (byte)ConnState.TimeWait)]
    [InlineData(Reply, TcpFlags.Rst | TcpFlags.Ack, ConnState.SynSent2, (byte)ConnState.Close)]
    [InlineData(Reply, TcpFlags.Rst, ConnState.None, IV)]
    public void Next_MatchesLinuxCells(ConnDirection dir, TcpFlags flags, ConnState from, byte expected)
    {
        TcpStateTable.Next(dir, TcpStateTable.Classify(flags), from).Should().Be(expected);
    }

    [Fact]
    public void NoneClass_IsInvalidEverywhere_AndRstClosesEveryStateButNone()
    {
        foreach (var dir in new[] { Original, Reply })
        {
            for (var s = ConnState.None; s <= ConnState.SynSent2; s++)
            {
                TcpStateTable.Next(dir, TcpStateTable.NoneSet, s).Should().Be(IV);
                TcpStateTable.Next(dir, TcpStateTable.RstSet, s).Should().Be(s == ConnState.None ? IV : (byte)ConnState.Close);
            }
        }
    }

    [Theory]
    [InlineData(TcpFlags.Syn, true)]
    [InlineData(TcpFlags.Syn | TcpFlags.Ack | TcpFlags.Ece | TcpFlags.Cwr, true)]
    [InlineData(TcpFlags.Ack | TcpFlags.Psh, true)]
    [InlineData(TcpFlags.Fin | TcpFlags.Ack | TcpFlags.Psh, true)]
    [InlineData(TcpFlags.Rst | TcpFlags.Ack, true)]
    [InlineData(TcpFlags.Fin, false)]
    [InlineData(TcpFlags.Syn | TcpFlags.Fin, false)]
    [InlineData(TcpFlags.Syn | TcpFlags.Rst, false)]
    [InlineData(TcpFlags.Rst | TcpFlags.Fin | TcpFlags.Ack, false)]
    [InlineData(TcpFlags.None, false)]
    [InlineData(TcpFlags.Urg, false)]
    public void HasValidFlags_FollowsLinuxTcpValidFlags(TcpFlags flags, bool valid)
    {
        TcpStateTable.HasValidFlags(flags).Should().Be(valid);
    }
}
