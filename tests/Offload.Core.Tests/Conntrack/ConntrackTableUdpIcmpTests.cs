using Offload.Conntrack;
using Offload.Flows;
using Offload.Packets;
using static Offload.Conntrack.ConnDirection;

namespace Offload.Tests.Conntrack;

public class ConntrackTableUdpIcmpTests
{
    [Fact]
    public void Udp_UnrepliedRepliedAssured_WithTimeouts30_30_120()
    {
        var f = new ConntrackFixture();
        var id = f.Create(ConntrackFixture.Key(IpProtocol.Udp, 5000, 53));
        f.Table.Get(id).State.Should().Be(ConnState.Unreplied);
        f.Remaining(id).Should().Be(TimeSpan.FromSeconds(30));

        f.Advance(0.5);
        f.Send(id, Reply).Should().BeEquivalentTo(new { State = ConnState.Replied, StateChanged = true, TimeoutSeconds = 30 });
        f.Table.Get(id).Assured.Should().BeFalse();

        // Within two seconds of creation a query/answer exchange is not a stream yet (Linux's stream_ts).
        f.Advance(1);
        f.Send(id, Original).Should().BeEquivalentTo(new { State = ConnState.Replied, StateChanged = false, TimeoutSeconds = 30 });

        f.Advance(1);
        f.Send(id, Original).Should().BeEquivalentTo(new { State = ConnState.Assured, StateChanged = true, TimeoutSeconds = 120 });
        f.Table.Get(id).Assured.Should().BeTrue();
        f.Remaining(id).Should().Be(TimeSpan.FromSeconds(120));

        f.Advance(100);
        f.Send(id, Reply).TimeoutSeconds.Should().Be(120);
        ConnState.Assured.Name().Should().Be("ASSURED");
        ConnState.Unreplied.Name().Should().Be("UNREPLIED");
        ConnState.Replied.Name().Should().Be("REPLIED");
    }

    [Fact]
    public void Udp_OnlyOriginalTraffic_StaysUnrepliedAndExpiresAfter30s()
    {
        var f = new ConntrackFixture();
        var id = f.Create(ConntrackFixture.Key(IpProtocol.Udp, 5000, 53));
        f.Advance(10);
        f.Send(id, Original).Should().BeEquivalentTo(new { State = ConnState.Unreplied, TimeoutSeconds = 30 });
        f.Advance(29.9);
        f.Table.Expire().Should().Be(0);
        f.Advance(0.1);
        f.Table.Expire().Should().Be(1);
    }

    [Fact]
    public void IcmpEcho_RequestThenReply_UnrepliedThenReplied()
    {
        var f = new ConntrackFixture();
        var request = ConntrackFixture.Key(IpProtocol.Icmp, srcPort: 7, dstPort: 8 << 8);
        var id = f.Create(request);
        f.Table.Get(id).State.Should().Be(ConnState.Unreplied);
        f.Table.Get(id).Reply.DstPort.Should().Be(0); // echo reply, same identifier
        f.Remaining(id).Should().Be(TimeSpan.FromSeconds(30));

        f.Table.TryLookup(f.Table.Get(id).Reply, out var found, out var dir).Should().BeTrue();
        found.Should().Be(id);
        dir.Should().Be(Reply);
        f.Advance(1);
        f.Send(id, Reply).Should().BeEquivalentTo(new { State = ConnState.Replied, TimeoutSeconds = 30 });
        f.Send(id, Original).State.Should().Be(ConnState.Replied);
        f.Table.Get(id).Assured.Should().BeFalse();
    }

    [Theory]
    [InlineData(IpProtocol.Icmp, 0)]     // echo reply
    [InlineData(IpProtocol.Icmp, 3)]     // destination unreachable
    [InlineData(IpProtocol.IcmpV6, 129)] // echo reply
    [InlineData(IpProtocol.IcmpV6, 1)]   // destination unreachable
    public void TryCreate_IcmpThatIsNotARequest_IsInvalid(byte protocol, byte type)
    {
        var f = new ConntrackFixture();
        var key = ConntrackFixture.Key(protocol, srcPort: 7, dstPort: (ushort)(type << 8));
        f.Table.TryCreate(key, new FlowKey(key.DstIp, 7, key.SrcIp, 8 << 8, protocol, 2, key.Vni), ConntrackFixture.Packet(key), out _)
            .Should().Be(ConntrackCreateResult.Invalid);
    }

    [Fact]
    public void Generic_OtherProtocol_UsesGenericTimeoutAndSeesReplies()
    {
        var f = new ConntrackFixture();
        var id = f.Create(ConntrackFixture.Key(IpProtocol.Gre, 0, 0));
        f.Remaining(id).Should().Be(TimeSpan.FromSeconds(600));
        f.Send(id, Reply).Should().BeEquivalentTo(new { State = ConnState.Replied, TimeoutSeconds = 600 });
    }

    [Theory]
    [InlineData(IpProtocol.Tcp)]
    [InlineData(IpProtocol.Udp)]
    public void TryLookupRelated_ErrorQuotingTheOriginalDirection_IsRelatedInReplyDirection(byte protocol)
    {
        var f = new ConntrackFixture();
        var key = ConntrackFixture.Key(protocol, 40000, 80);
        var id = f.Create(key, protocol == IpProtocol.Tcp ? TcpFlags.Syn : TcpFlags.None);
        var router = NetAddress.Parse("10.1.0.254");

        // A router tells the client its packet to the server could not be delivered.
        var error = ConntrackFixture.IcmpError(router, ConntrackFixture.Client, key);
        f.Table.TryLookupRelated(error, ConntrackFixture.Vni, out var found, out var dir).Should().BeTrue();
        found.Should().Be(id);
        dir.Should().Be(Reply);

        // The client tells the server its reply could not be delivered.
        var replyKey = f.Table.Get(id).Reply;
        var back = ConntrackFixture.IcmpError(ConntrackFixture.Client, ConntrackFixture.Server, replyKey);
        f.Table.TryLookupRelated(back, ConntrackFixture.Vni, out found, out dir).Should().BeTrue();
        found.Should().Be(id);
        dir.Should().Be(Original);

        f.Table.TryLookupRelated(error, ConntrackFixture.Vni + 1, out _, out _).Should().BeFalse();
    }

    [Fact]
    public void TryLookupRelated_ErrorQuotingAnIcmpEcho_FindsTheEchoConnection()
    {
        var f = new ConntrackFixture();
        var request = ConntrackFixture.Key(IpProtocol.Icmp, srcPort: 0x1234, dstPort: 8 << 8);
        var id = f.Create(request);
        var error = ConntrackFixture.IcmpError(NetAddress.Parse("10.1.0.254"), ConntrackFixture.Client, request, type: 11, code: 0);

        f.Table.TryLookupRelated(error, ConntrackFixture.Vni, out var found, out var dir).Should().BeTrue();
        found.Should().Be(id);
        dir.Should().Be(Reply);
    }

    [Fact]
    public void TryLookupRelated_AfterSnat_MatchesTheTranslatedReplyTuple()
    {
        var f = new ConntrackFixture();
        var publicIp = NetAddress.Parse("203.0.113.5");
        var internet = NetAddress.Parse("198.51.100.7");
        var original = new FlowKey(ConntrackFixture.Client, 40000, internet, 443, IpProtocol.Tcp, 1, ConntrackFixture.Vni);
        var reply = new FlowKey(internet, 443, publicIp, 61000, IpProtocol.Tcp, 0, ConntrackFixture.Vni);
        f.Table.TryCreate(original, reply, ConntrackFixture.Packet(original, TcpFlags.Syn), out var id).Should().Be(ConntrackCreateResult.Created);

        // The error on the public side quotes the packet as it left: source already translated.
        var quoted = new FlowKey(publicIp, 61000, internet, 443, IpProtocol.Tcp, 0, ConntrackFixture.Vni);
        var error = ConntrackFixture.IcmpError(NetAddress.Parse("198.51.100.1"), publicIp, quoted);
        f.Table.TryLookupRelated(error, ConntrackFixture.Vni, out var found, out var dir).Should().BeTrue();
        found.Should().Be(id);
        dir.Should().Be(Reply);
    }

    [Fact]
    public void TryLookupRelated_NotAnError_ReturnsFalse()
    {
        var f = new ConntrackFixture();
        var key = ConntrackFixture.Key(IpProtocol.Udp);
        f.Create(key);
        f.Table.TryLookupRelated(ConntrackFixture.Packet(key), ConntrackFixture.Vni, out var id, out _).Should().BeFalse();
        id.IsNone.Should().BeTrue();
    }

    [Fact]
    public void Update_WithRelatedIcmpError_ChangesNothing()
    {
        var f = new ConntrackFixture();
        var key = ConntrackFixture.Key(IpProtocol.Icmp, srcPort: 7, dstPort: 8 << 8);
        var id = f.Create(key);
        f.Advance(5);
        var r = f.Table.Update(id, Reply, TcpFlags.None, 3, 70, f.Time.GetTimestamp());
        r.State.Should().Be(ConnState.Unreplied);
        r.TimeoutSeconds.Should().Be(25);
        f.Table.Get(id).ReplyPackets.Should().Be(0);
    }
}
