using Offload.Actions;
using Offload.Datapath;
using Offload.Packets;
using Offload.Tests.Datapath;
using static Offload.Tests.Switching.SwitchTestBed;

namespace Offload.Tests.Switching;

/// <summary>Minimal repros of what the switch property tests found (seeds in the report).</summary>
public class SwitchPropertyFindingsTests
{
    private static ushort PublicIdentifier(byte[] frame)
    {
        PacketParser.Parse(frame, out var p);
        return p.SrcPort; // ICMP: SrcPort is the echo identifier
    }

    // An SNAT'd ICMP echo keeps its public identifier in the reply tuple's *source* port (FlowKey.TryInvert keeps
    // the identifier and puts the reply type in DstPort), but the sticky SNAT check reads the destination port.
    [Fact]
    public void ApplyPolicy_UnchangedPolicy_KeepsSnatIcmpConnectionAndIdentifier()
    {
        using var bed = new SwitchTestBed();
        var ping = TestFrames.IcmpEcho("10.1.0.1", "198.51.100.7", id: 7, sequence: 1, srcMac: Vm1);
        var first = bed.From("vm1", ping);
        bed.OutName(first.Result).Should().Be("uplink");
        ushort identifier = PublicIdentifier(first.Frame);

        var result = bed.Switch.ApplyPolicy(Load(PolicyYaml));

        result.Removed.Should().Be(0, "nothing changed, so no connection may be removed");
        var next = bed.From("vm1", TestFrames.IcmpEcho("10.1.0.1", "198.51.100.7", id: 7, sequence: 2, srcMac: Vm1));
        next.Result.Path.Should().Be(PacketPath.Fast);
        PublicIdentifier(next.Frame).Should().Be(identifier, "a kept connection keeps its SNAT binding");
    }

    // Same root cause, seen through the slow path: a known SNAT'd ping that reaches the slow path (a flow not
    // offloaded yet, or evicted) is dropped as no-route, while the fast path delivers its replies.
    [Fact]
    public void Decide_KnownSnatIcmpConnectionReply_ForwardsLikeTheFastPath()
    {
        using var bed = new SwitchTestBed();
        var first = bed.From("vm1", TestFrames.IcmpEcho("10.1.0.1", "198.51.100.7", id: 9, sequence: 1, srcMac: Vm1));
        ushort identifier = PublicIdentifier(first.Frame);
        var reply = TestFrames.IcmpEcho("198.51.100.7", "203.0.113.5", id: identifier, sequence: 1, reply: true, srcMac: Gateway);
        PacketParser.Parse(reply, out var p);
        var key = Offload.Flows.FlowKey.FromPacket(in p, bed.Port("uplink"), 0);
        bed.Switch.Conntrack.TryLookup(key, out var id, out var direction).Should().BeTrue();
        bed.Switch.Conntrack.TryGet(id, out var tracked).Should().BeTrue();

        var decision = new Offload.Switching.PolicySlowPath(Load(PolicyYaml)).Decide(new SlowPathRequest
        {
            InPort = bed.Port("uplink"), Key = key, Packet = p, Frame = reply, Connection = id, Tracked = tracked, Direction = direction,
        });

        decision.Verdict.Should().Be(ActionVerdict.Output);
        bed.From("uplink", reply).Result.Verdict.Should().Be(ActionVerdict.Output, "the fast path delivers it");
    }

    // Release gives back reply.DstPort, which for ICMP is the reply type/code, not the identifier: every
    // SNAT'd ping leaks its public identifier until the range is exhausted.
    [Fact]
    public void ConnectionExpiry_SnatIcmp_IdentifierReturnedToThePool()
    {
        using var bed = new SwitchTestBed(PolicyYaml.Replace("ports: \"1024-65535\"", "ports: \"40000-40000\""));
        var first = bed.From("vm1", TestFrames.IcmpEcho("10.1.0.1", "198.51.100.7", id: 1, sequence: 1, srcMac: Vm1));
        PublicIdentifier(first.Frame).Should().Be(40000);
        bed.Time.Advance(TimeSpan.FromSeconds(31)); // past the 30 s ICMP timeout
        bed.Switch.Poll();
        bed.Switch.Conntrack.Count.Should().Be(0);

        var second = bed.From("vm1", TestFrames.IcmpEcho("10.1.0.1", "198.51.100.7", id: 2, sequence: 1, srcMac: Vm1));

        second.Result.Verdict.Should().Be(ActionVerdict.Output, "the only public identifier was given back when the first ping expired");
        PublicIdentifier(second.Frame).Should().Be(40000);
    }
}
