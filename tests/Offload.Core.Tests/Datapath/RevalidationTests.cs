using Microsoft.Extensions.Time.Testing;
using Offload.Actions;
using Offload.Conntrack;
using Offload.Datapath;
using Offload.Packets;
using static Offload.Tests.Datapath.DatapathTestBed;

namespace Offload.Tests.Datapath;

public class RevalidationTests
{
    /// <summary>Re-derives connections with the test slow path's current routes and denials.</summary>
    private sealed class StaticRevalidator(StaticSlowPath policy) : IConnectionRevalidator
    {
        public int Calls;

        public RevalidationDecision Revalidate(in ConnectionInfo connection, in FlowAction original, in FlowAction reply, object? provenance)
        {
            Calls++;
            var request = new SlowPathRequest
            {
                InPort = connection.Original.InPort, Key = connection.Original,
                Packet = new ParsedPacket { L3 = L3Kind.IPv4 }, Frame = ReadOnlyMemory<byte>.Empty,
            };
            var d = policy.Decide(request);
            if (d.Verdict == ActionVerdict.Drop)
                return RevalidationDecision.Remove(d.Reason);
            return d.Action.Equals(original) && d.ReplyAction.Equals(reply)
                ? RevalidationDecision.Keep
                : RevalidationDecision.Update(d.Action, d.ReplyAction);
        }
    }

    [Fact]
    public void Revalidate_NowDeniedConnection_RemovedAndNextPacketDropped()
    {
        using var bed = new DatapathTestBed();
        bed.Send(Vm1, TestFrames.Tcp("10.1.0.1", 40000, "10.1.0.2", 80, syn: true));
        bed.Send(Vm1, TestFrames.Tcp("10.1.0.1", 40001, "10.1.0.2", 443, syn: true));
        bed.Backend.Count.Should().Be(4);

        bed.Policy.DeniedPorts.Add(80);
        var result = bed.Datapath.Revalidate(new StaticRevalidator(bed.Policy));

        result.Checked.Should().Be(2);
        result.Removed.Should().Be(1);
        bed.Backend.Count.Should().Be(2, "the denied connection's flows are gone; the other's stay");
        var next = bed.Send(Vm1, TestFrames.Tcp("10.1.0.1", 40000, "10.1.0.2", 80, ack: true));
        next.Result.Verdict.Should().Be(ActionVerdict.Drop, "no packet of a now-denied connection is forwarded after revalidation");
        next.Result.Reason.Should().Be(DropReason.Acl);
        bed.Send(Vm1, TestFrames.Tcp("10.1.0.1", 40001, "10.1.0.2", 443, ack: true)).Result.Path.Should().Be(PacketPath.Fast);
    }

    [Fact]
    public void Revalidate_ChangedDelivery_FlowsUpdatedInPlaceKeepingConntrack()
    {
        using var bed = new DatapathTestBed();
        bed.Send(Vm1, TestFrames.Udp("10.1.0.1", 5000, "10.1.0.2", 53));
        var newMac = MacAddress.Parse("02:00:00:01:99:02");
        bed.Policy.AddRoute(Vni, "10.1.0.2", new StaticSlowPath.Route(Vm2, newMac, TestFrames.GatewayMac, Vm2));

        var result = bed.Datapath.Revalidate(new StaticRevalidator(bed.Policy));

        result.Updated.Should().Be(1);
        var r = bed.Send(Vm1, TestFrames.Udp("10.1.0.1", 5000, "10.1.0.2", 53));
        r.Result.Path.Should().Be(PacketPath.Fast);
        MacAddress.Read(r.Frame).Should().Be(newMac);
        bed.Datapath.Conntrack.Count.Should().Be(1);
    }

    [Fact]
    public async Task StartRevalidation_RunsInSlicesFromPoll_PacketsKeepFlowing()
    {
        var options = new DatapathOptions { RevalidationSlice = 10 };
        using var bed = new DatapathTestBed(options: options);
        for (int c = 0; c < 35; c++)
            bed.Send(Vm1, TestFrames.Udp("10.1.0.1", (ushort)(3000 + c), "10.1.0.2", 53));
        bed.Policy.DeniedPorts.Add(53);
        var revalidator = new StaticRevalidator(bed.Policy);

        var task = bed.Datapath.StartRevalidation(revalidator);
        task.IsCompleted.Should().BeFalse();
        bed.Datapath.Poll();
        revalidator.Calls.Should().Be(10, "one slice per Poll");
        bed.Send(Vm1, TestFrames.Udp("10.1.0.1", 3034, "10.1.0.2", 53)).Result.Path.Should().Be(PacketPath.Fast,
            "connections not yet revalidated keep their flows until their turn");
        while (!task.IsCompleted)
            bed.Datapath.Poll();
        var result = await task;
        result.Checked.Should().Be(35);
        result.Removed.Should().Be(35);
        bed.Backend.Count.Should().Be(0);
    }

    /// <summary>A revalidator whose every decision costs <c>cost</c> of the fake clock's time.</summary>
    private sealed class SlowRevalidator(StaticSlowPath policy, FakeTimeProvider time, TimeSpan cost) : IConnectionRevalidator
    {
        private readonly StaticRevalidator _inner = new(policy);

        public int Calls => _inner.Calls;

        public RevalidationDecision Revalidate(in ConnectionInfo connection, in FlowAction original, in FlowAction reply, object? provenance)
        {
            time.Advance(cost);
            return _inner.Revalidate(in connection, in original, in reply, provenance);
        }
    }

    [Fact]
    public async Task StartRevalidation_TimeBudgetedSlices_StopAtBudgetAndCompleteOverSeveralPolls()
    {
        var options = new DatapathOptions
        {
            RevalidationSlice = 1000, RevalidationBudget = TimeSpan.FromMicroseconds(100), RevalidationShare = 0.2,
        };
        using var bed = new DatapathTestBed(options: options);
        for (int c = 0; c < 40; c++)
            bed.Send(Vm1, TestFrames.Udp("10.1.0.1", (ushort)(3000 + c), "10.1.0.2", (ushort)(c % 2 == 0 ? 53 : 54)));
        bed.Policy.DeniedPorts.Add(53);
        var revalidator = new SlowRevalidator(bed.Policy, bed.Time, TimeSpan.FromMicroseconds(10));

        var task = bed.Datapath.StartRevalidation(revalidator);
        bed.Datapath.Poll();
        revalidator.Calls.Should().Be(10, "no frames since the pass started: the whole 100 us budget, 10 us per connection");

        // Traffic for 190 us: the slice may take share / (1 - share) of that, 47.5 us; it ends after the
        // connection that crosses it, 2.5 us over.
        bed.Time.Advance(TimeSpan.FromMicroseconds(190));
        bed.Send(Vm1, TestFrames.Udp("10.1.0.1", 3039, "10.1.0.2", 54)).Result.Path.Should().Be(PacketPath.Fast);
        bed.Datapath.Poll();
        revalidator.Calls.Should().Be(15, "the slice stops at the traffic-share budget");

        // 10 us of traffic earns 2.5 us, which the overrun already used: no slice this time.
        bed.Time.Advance(TimeSpan.FromMicroseconds(10));
        bed.Send(Vm1, TestFrames.Udp("10.1.0.1", 3039, "10.1.0.2", 54));
        bed.Datapath.Poll();
        revalidator.Calls.Should().Be(15, "the previous slice's overrun is charged to this one");

        bed.Time.Advance(TimeSpan.FromMicroseconds(40));
        bed.Send(Vm1, TestFrames.Udp("10.1.0.1", 3039, "10.1.0.2", 54));
        bed.Datapath.Poll();
        revalidator.Calls.Should().Be(16);

        int polls = 0;
        while (!task.IsCompleted)
        {
            bed.Datapath.Poll();
            polls++;
        }
        polls.Should().Be(3, "24 connections left at 10 per idle Poll");
        var result = await task;
        result.Checked.Should().Be(40);
        result.Removed.Should().Be(20);
        bed.Backend.Count.Should().Be(40, "the 20 allowed connections keep both flows");
        var denied = bed.Send(Vm1, TestFrames.Udp("10.1.0.1", 3000, "10.1.0.2", 53));
        denied.Result.Verdict.Should().Be(ActionVerdict.Drop, "no packet of a now-denied connection is forwarded after revalidation");
        bed.Send(Vm1, TestFrames.Udp("10.1.0.1", 3001, "10.1.0.2", 54)).Result.Path.Should().Be(PacketPath.Fast);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    public void DatapathOptions_RevalidationShareOutsideOpenUnitInterval_Rejected(double share)
    {
        var act = () => new DatapathOptions { RevalidationShare = share }.Validate();
        act.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("RevalidationShare");
    }

    [Fact]
    public void StartRevalidation_CachedDropFlowsAreRemoved()
    {
        using var bed = new DatapathTestBed();
        bed.Policy.DeniedPorts.Add(22);
        bed.Send(Vm1, TestFrames.Tcp("10.1.0.1", 40000, "10.1.0.2", 22, syn: true));
        bed.Backend.Count.Should().Be(1);
        bed.Policy.DeniedPorts.Clear();
        bed.Datapath.Revalidate(new StaticRevalidator(bed.Policy)).DropFlowsRemoved.Should().Be(1);
        bed.Send(Vm1, TestFrames.Tcp("10.1.0.1", 40000, "10.1.0.2", 22, syn: true)).Result.Verdict.Should().Be(ActionVerdict.Output);
    }
}
