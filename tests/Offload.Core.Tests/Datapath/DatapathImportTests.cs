using Offload.Actions;
using Offload.Conntrack;
using Offload.Datapath;
using Offload.Flows;
using Offload.Packets;
using static Offload.Tests.Datapath.DatapathTestBed;

namespace Offload.Tests.Datapath;

/// <summary>A restarted agent's import of connections the slow path still tracks.</summary>
public class DatapathImportTests
{
    private static FlowKey Key(ushort sp, ushort dp, byte proto) =>
        new(NetAddress.Parse("10.1.0.1"), sp, NetAddress.Parse("10.1.0.2"), dp, proto, Vm1, Vni);

    private static SlowPathDecision Vm1ToVm2(in FlowKey original, bool withReply = true)
    {
        var forward = ActionProgram.CreateBuilder().SetSourceMac(TestFrames.GatewayMac).SetDestinationMac(TestFrames.Vm2Mac).Output(Vm2).Build();
        var back = ActionProgram.CreateBuilder().SetSourceMac(TestFrames.GatewayMac).SetDestinationMac(TestFrames.Vm1Mac).Output(Vm1).Build();
        original.TryInvert(Vm2, Vni, out var reply).Should().BeTrue();
        return new SlowPathDecision
        {
            Verdict = ActionVerdict.Output,
            Action = new FlowAction(forward, default),
            ReplyKey = withReply ? reply : null,
            ReplyAction = withReply ? new FlowAction(back, default) : default,
        };
    }

    [Fact]
    public void ImportConnection_UdpReplied_BothDirectionsTakeTheFastPathWithoutTheSlowPath()
    {
        using var bed = new DatapathTestBed();
        var key = Key(5000, 53, IpProtocol.Udp);

        bed.Datapath.ImportConnection(key, Vm1ToVm2(key), ConnState.Replied, TimeSpan.FromSeconds(20))
            .Should().Be(ConnectionImportResult.Imported);

        bed.Backend.Count.Should().Be(2, "both directions are installed as if the slow path had just decided");
        var info = bed.Datapath.Conntrack.Snapshot().Should().ContainSingle().Subject;
        info.State.Should().Be(ConnState.Replied);
        info.TimeoutRemaining.Should().Be(TimeSpan.FromSeconds(20));
        info.SeenReply.Should().BeTrue();
        var forward = bed.Send(Vm1, TestFrames.Udp("10.1.0.1", 5000, "10.1.0.2", 53)).Result;
        forward.Path.Should().Be(PacketPath.Fast);
        forward.OutPort.Should().Be(Vm2);
        var reply = bed.Send(Vm2, TestFrames.Udp("10.1.0.2", 53, "10.1.0.1", 5000, srcMac: TestFrames.Vm2Mac)).Result;
        reply.Path.Should().Be(PacketPath.Fast);
        reply.OutPort.Should().Be(Vm1);
        bed.Policy.Calls.Should().Be(0);
        bed.Datapath.GetSyncStats().ConnectionsImported.Should().Be(1);
    }

    [Fact]
    public void ImportConnection_TcpEstablishedIdle_AssuredAndExpiresWhenTheRemainingTimeRunsOut()
    {
        using var bed = new DatapathTestBed();
        var key = Key(40000, 80, IpProtocol.Tcp);

        bed.Datapath.ImportConnection(key, Vm1ToVm2(key), ConnState.Established, TimeSpan.FromSeconds(100))
            .Should().Be(ConnectionImportResult.Imported);
        bed.Datapath.Conntrack.Snapshot()[0].Assured.Should().BeTrue("an established TCP connection with a reply is assured by default");

        bed.Time.Advance(TimeSpan.FromSeconds(99));
        bed.Datapath.Poll();
        bed.Backend.Count.Should().Be(2);
        bed.Time.Advance(TimeSpan.FromSeconds(2));
        bed.Datapath.Poll();
        bed.Backend.Count.Should().Be(0);
        bed.Datapath.Conntrack.Count.Should().Be(0);
    }

    [Fact]
    public void ImportConnection_TcpEstablished_LaterPacketsAdvanceIt()
    {
        using var bed = new DatapathTestBed();
        var key = Key(40000, 80, IpProtocol.Tcp);
        bed.Datapath.ImportConnection(key, Vm1ToVm2(key), ConnState.Established, TimeSpan.FromSeconds(100));

        var data = bed.Send(Vm1, TestFrames.Tcp("10.1.0.1", 40000, "10.1.0.2", 80, ack: true, payload: 10)).Result;
        data.Path.Should().Be(PacketPath.Fast);
        data.State.Should().Be(ConnState.Established);
        data.TimeoutSeconds.Should().Be(432_000);
        bed.Send(Vm2, TestFrames.Tcp("10.1.0.2", 80, "10.1.0.1", 40000, fin: true, ack: true, srcMac: TestFrames.Vm2Mac))
            .Result.State.Should().Be(ConnState.FinWait);
    }

    [Fact]
    public void ImportConnection_WithoutReplyKey_TracksTheInvertedTupleAndInstallsOnlyTheOriginalFlow()
    {
        using var bed = new DatapathTestBed();
        var key = Key(5000, 53, IpProtocol.Udp);

        bed.Datapath.ImportConnection(key, Vm1ToVm2(key, withReply: false), ConnState.Unreplied, TimeSpan.FromSeconds(30))
            .Should().Be(ConnectionImportResult.Imported);

        bed.Backend.Count.Should().Be(1);
        bed.Datapath.Conntrack.Snapshot()[0].SeenReply.Should().BeFalse();
    }

    [Fact]
    public void ImportConnection_Twice_SecondExistsAndNothingChanges()
    {
        using var bed = new DatapathTestBed();
        var key = Key(5000, 53, IpProtocol.Udp);
        bed.Datapath.ImportConnection(key, Vm1ToVm2(key), ConnState.Replied, TimeSpan.FromSeconds(20));

        bed.Datapath.ImportConnection(key, Vm1ToVm2(key), ConnState.Assured, TimeSpan.FromSeconds(100))
            .Should().Be(ConnectionImportResult.Exists);

        bed.Datapath.Conntrack.Snapshot().Should().ContainSingle().Which.State.Should().Be(ConnState.Replied);
        bed.Datapath.GetSyncStats().ConnectionsImported.Should().Be(1);
    }

    [Fact]
    public void ImportConnection_TableFull_TableFull()
    {
        var options = new DatapathOptions { Conntrack = new ConntrackOptions { MaxEntries = 1, InitialCapacity = 1 } };
        using var bed = new DatapathTestBed(options: options);
        var first = Key(5000, 53, IpProtocol.Udp);
        var second = Key(5001, 53, IpProtocol.Udp);
        bed.Datapath.ImportConnection(first, Vm1ToVm2(first), ConnState.Replied, TimeSpan.FromSeconds(20));

        bed.Datapath.ImportConnection(second, Vm1ToVm2(second), ConnState.Replied, TimeSpan.FromSeconds(20))
            .Should().Be(ConnectionImportResult.TableFull);
        bed.Backend.Count.Should().Be(2);
    }

    [Fact]
    public void ImportConnection_OffloadOnlyWhenEstablished_SynSentTrackedButNotInstalled()
    {
        using var bed = new DatapathTestBed(options: new DatapathOptions { Offload = new OffloadPolicy { When = OffloadTrigger.Established } });
        var key = Key(40000, 80, IpProtocol.Tcp);

        bed.Datapath.ImportConnection(key, Vm1ToVm2(key), ConnState.SynSent, TimeSpan.FromSeconds(100))
            .Should().Be(ConnectionImportResult.Imported);

        bed.Datapath.Conntrack.Count.Should().Be(1);
        bed.Backend.Count.Should().Be(0, "the offload policy is applied as for a decision");
    }

    [Fact]
    public void ImportConnection_NothingToImport_Invalid()
    {
        using var bed = new DatapathTestBed();
        var udp = Key(5000, 53, IpProtocol.Udp);

        bed.Datapath.ImportConnection(udp, SlowPathDecision.Drop(DropReason.Acl), ConnState.Replied, TimeSpan.FromSeconds(20))
            .Should().Be(ConnectionImportResult.Invalid);
        bed.Datapath.ImportConnection(udp, Vm1ToVm2(udp), ConnState.Established, TimeSpan.FromSeconds(20))
            .Should().Be(ConnectionImportResult.Invalid);
        bed.Datapath.ImportConnection(udp, Vm1ToVm2(udp), ConnState.Replied, TimeSpan.Zero)
            .Should().Be(ConnectionImportResult.Invalid);
        var untracked = new SlowPathDecision { Verdict = ActionVerdict.Output, Action = Vm1ToVm2(udp).Action, Track = false };
        bed.Datapath.ImportConnection(udp, untracked, ConnState.Replied, TimeSpan.FromSeconds(20))
            .Should().Be(ConnectionImportResult.Invalid);

        bed.Datapath.Conntrack.Count.Should().Be(0);
        bed.Backend.Count.Should().Be(0);
    }
}
