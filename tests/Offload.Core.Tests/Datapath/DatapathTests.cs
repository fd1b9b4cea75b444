using System.Net;
using CsCheck;
using PacketDotNet;
using Offload.Actions;
using Offload.Conntrack;
using Offload.Datapath;
using Offload.Flows;
using Offload.Packets;
using static Offload.Tests.Datapath.DatapathTestBed;

namespace Offload.Tests.Datapath;

public class DatapathTests
{
    private static FlowKey Key(string src, ushort sp, string dst, ushort dp, byte proto, ushort inPort, uint vni = Vni) =>
        new(NetAddress.Parse(src), sp, NetAddress.Parse(dst), dp, proto, inPort, vni);

    [Fact]
    public void Process_TcpHandshake_FirstPacketSlowThenBothDirectionsFast()
    {
        using var bed = new DatapathTestBed();

        var syn = bed.Send(Vm1, TestFrames.Tcp("10.1.0.1", 40000, "10.1.0.2", 80, syn: true, seq: 1000));
        syn.Result.Path.Should().Be(PacketPath.Slow);
        syn.Result.Verdict.Should().Be(ActionVerdict.Output);
        syn.Result.OutPort.Should().Be(Vm2);
        syn.Result.State.Should().Be(ConnState.SynSent);
        syn.Result.TimeoutSeconds.Should().Be(120);
        bed.Backend.Count.Should().Be(2, "both directions are installed once the slow path has decided (S3)");
        var eth = (EthernetPacket)Packet.ParsePacket(LinkLayers.Ethernet, syn.Frame);
        eth.DestinationHardwareAddress.ToString().Should().Be("020000010002", "delivery rewrites the destination MAC to the receiving VM's (C7)");

        var synAck = bed.Send(Vm2, TestFrames.Tcp("10.1.0.2", 80, "10.1.0.1", 40000, syn: true, ack: true, seq: 5000, ackNo: 1001,
            srcMac: TestFrames.Vm2Mac));
        synAck.Result.Path.Should().Be(PacketPath.Fast);
        synAck.Result.OutPort.Should().Be(Vm1);
        synAck.Result.State.Should().Be(ConnState.SynRecv);

        var ack = bed.Send(Vm1, TestFrames.Tcp("10.1.0.1", 40000, "10.1.0.2", 80, ack: true, seq: 1001, ackNo: 5001));
        ack.Result.Path.Should().Be(PacketPath.Fast);
        ack.Result.State.Should().Be(ConnState.Established);
        ack.Result.TimeoutSeconds.Should().Be(432000);

        bed.Policy.Calls.Should().Be(1, "later packets never reach the slow path (C4)");
        bed.Backend.TryQueryCounters(Key("10.1.0.1", 40000, "10.1.0.2", 80, IpProtocol.Tcp, Vm1), out var stats).Should().BeTrue();
        stats.Packets.Should().Be(1, "the first packet was handled by the slow path; the ACK hit the flow");
        bed.Backend.TryQueryCounters(Key("10.1.0.2", 80, "10.1.0.1", 40000, IpProtocol.Tcp, Vm2), out var reply).Should().BeTrue();
        reply.Packets.Should().Be(1);
        reply.Bytes.Should().Be(synAck.Frame.Length);
        var s = bed.Datapath.GetStats();
        s.SlowPathFrames.Should().Be(1);
        s.FastPathFrames.Should().Be(2);
    }

    [Fact]
    public void Process_SecondIdenticalPacket_FastPathOutputEqualsSlowPathOutput()
    {
        // Property: for random connections through plain delivery, DNAT and VXLAN encapsulation, the
        // fast path's rewrite of a packet equals the slow path's rewrite of the same packet.
        var destinations = new[] { ("10.1.0.2", (ushort)8080), ("10.1.255.10", (ushort)80), ("10.1.0.3", (ushort)443) };
        Gen.Select(Gen.Int[0, 2], Gen.UShort[1024, 65000], Gen.Int[0, 300], Gen.Bool).Sample((d, srcPort, payload, udp) =>
        {
            using var bed = new DatapathTestBed();
            var (dst, dstPort) = destinations[d];
            byte[] frame = udp
                ? TestFrames.Udp("10.1.0.1", srcPort, dst, dstPort, payload)
                : TestFrames.Tcp("10.1.0.1", srcPort, dst, dstPort, ack: true, payload: payload);
            var first = bed.Send(Vm1, frame);
            var second = bed.Send(Vm1, frame);
            first.Result.Path.Should().Be(PacketPath.Slow);
            second.Result.Path.Should().Be(PacketPath.Fast);
            second.Result.Verdict.Should().Be(first.Result.Verdict);
            second.Result.OutPort.Should().Be(first.Result.OutPort);
            second.Frame.Should().Equal(first.Frame);
        }, iter: 300);
    }

    [Fact]
    public void Process_LoadBalancerVip_DnatForwardAndUnNatReply()
    {
        using var bed = new DatapathTestBed();
        var syn = bed.Send(Vm1, TestFrames.Tcp("10.1.0.1", 40001, "10.1.255.10", 80, syn: true));
        syn.Result.OutPort.Should().Be(Vm2);
        var tcp = Packet.ParsePacket(LinkLayers.Ethernet, syn.Frame).Extract<TcpPacket>();
        var ip = (IPv4Packet)tcp.ParentPacket;
        ip.DestinationAddress.Should().Be(IPAddress.Parse("10.1.0.2"));
        tcp.DestinationPort.Should().Be(8080);
        ip.ValidChecksum.Should().BeTrue();
        tcp.ValidTcpChecksum.Should().BeTrue();

        var synAck = bed.Send(Vm2, TestFrames.Tcp("10.1.0.2", 8080, "10.1.0.1", 40001, syn: true, ack: true, srcMac: TestFrames.Vm2Mac));
        synAck.Result.Path.Should().Be(PacketPath.Fast);
        var back = Packet.ParsePacket(LinkLayers.Ethernet, synAck.Frame).Extract<TcpPacket>();
        ((IPv4Packet)back.ParentPacket).SourceAddress.Should().Be(IPAddress.Parse("10.1.255.10"), "the reply is un-NATed");
        back.SourcePort.Should().Be(80);
        back.ValidTcpChecksum.Should().BeTrue();
        synAck.Result.State.Should().Be(ConnState.SynRecv);
    }

    [Fact]
    public void Process_RemoteDestination_EncapsulatedOutOfUplink()
    {
        using var bed = new DatapathTestBed();
        var r = bed.Send(Vm1, TestFrames.Udp("10.1.0.1", 5000, "10.1.0.3", 53));
        r.Result.OutPort.Should().Be(Uplink);
        PacketParser.Parse(r.Frame, out var outer);
        outer.IsValid.Should().BeTrue();
        outer.Tunnel.Should().Be(TunnelKind.Vxlan);
        outer.Vni.Should().Be(Vni);
        outer.DstIp.Should().Be(NetAddress.Parse("192.0.2.11"));
        outer.DstMac.Should().Be(RemoteHostMac);
        PacketParser.Parse(r.Frame.AsSpan(outer.InnerOffset), out var inner);
        inner.DstIp.Should().Be(NetAddress.Parse("10.1.0.3"));
        inner.DstMac.Should().Be(Vm3Mac);
    }

    [Fact]
    public void Process_VxlanFromUplink_KeyedByInnerTupleAndVni_DecapsulatedAndDelivered()
    {
        using var bed = new DatapathTestBed();
        byte[] inner = TestFrames.Udp("10.1.0.3", 6000, "10.1.0.1", 7000, srcMac: Vm3Mac, dstMac: TestFrames.GatewayMac);
        byte[] tunnel = TestFrames.Vxlan(inner, Vni, "192.0.2.11", "192.0.2.10", RemoteHostMac, HostMac);

        var first = bed.Send(Uplink, tunnel);
        first.Result.Path.Should().Be(PacketPath.Slow, "a tunnel frame with no flow goes up to the slow path (C14)");
        first.Result.Key.Should().Be(Key("10.1.0.3", 6000, "10.1.0.1", 7000, IpProtocol.Udp, Uplink));
        first.Result.OutPort.Should().Be(Vm1);
        first.Frame.Length.Should().Be(inner.Length);
        first.Frame.AsSpan(12).ToArray().Should().Equal(inner.AsSpan(12).ToArray(), "decapsulation leaves the inner packet intact");
        MacAddress.Read(first.Frame).Should().Be(TestFrames.Vm1Mac, "the inner destination MAC is the receiving VM's (C13)");

        var second = bed.Send(Uplink, tunnel);
        second.Result.Path.Should().Be(PacketPath.Fast, "a hit applies decap + rewrite + deliver (C15)");
        second.Frame.Should().Equal(first.Frame);
    }

    [Fact]
    public void Process_GreFromUplink_KeyIsVni()
    {
        using var bed = new DatapathTestBed();
        byte[] inner = TestFrames.Udp("10.1.0.3", 6000, "10.1.0.2", 7000, srcMac: Vm3Mac);
        var r = bed.Send(Uplink, TestFrames.Gre(inner, Vni, "192.0.2.11", "192.0.2.10", RemoteHostMac, HostMac));
        r.Result.Key.Vni.Should().Be(Vni);
        r.Result.OutPort.Should().Be(Vm2);
        r.Frame.Length.Should().Be(inner.Length);
    }

    [Fact]
    public void Process_PendingDecision_HoldsLaterFramesInOrderAndLosesNone()
    {
        var policy = new StaticSlowPath();
        var gate = new GatedSlowPath(policy);
        using var bed = new DatapathTestBed(gate);
        foreach (var kv in bed.Policy.Routes)
            policy.Routes[kv.Key] = kv.Value;

        for (int i = 0; i < 5; i++)
        {
            var input = new InputFrame(PacketBuffer.CopyOf(TestFrames.Udp("10.1.0.1", 5555, "10.1.0.2", 53, payload: 10 + i)), Vm1, cookie: i);
            bed.Datapath.Process(ref input);
        }
        bed.Sink.Frames.Should().BeEmpty("the decision is pending");
        gate.Waiting.Should().Be(1, "one decision per connection, not one per packet");
        bed.Datapath.PendingDecisions.Should().Be(1);

        gate.ReleaseAll();
        SpinWait.SpinUntil(() => bed.Datapath.Poll() > 0 || bed.Sink.Frames.Count > 0, TimeSpan.FromSeconds(5));
        bed.Datapath.Poll();

        bed.Sink.Frames.Select(f => f.Result.Cookie).Should().Equal(0, 1, 2, 3, 4);
        bed.Sink.Frames.Should().OnlyContain(f => f.Result.Verdict == ActionVerdict.Output && f.Result.OutPort == Vm2);
        bed.Sink.Frames[0].Result.Path.Should().Be(PacketPath.Slow);
        bed.Sink.Frames.Skip(1).Should().OnlyContain(f => f.Result.Path == PacketPath.Fast);
        bed.Sink.Frames.Select(f => f.Frame.Length).Should().Equal(bed.Sink.Frames.Select((_, i) => 14 + 20 + 8 + 10 + i));
    }

    [Fact]
    public void Process_SlowPathFails_FrameDroppedWithReasonAndHeldFramesRetried()
    {
        var policy = new StaticSlowPath();
        var gate = new GatedSlowPath(policy);
        using var bed = new DatapathTestBed(gate);
        for (int i = 0; i < 3; i++)
        {
            var input = new InputFrame(PacketBuffer.CopyOf(TestFrames.Udp("10.1.0.1", 5555, "10.1.0.2", 53)), Vm1, cookie: i);
            bed.Datapath.Process(ref input);
        }
        gate.FailAll();
        SpinWait.SpinUntil(() => bed.Datapath.Poll() > 0, TimeSpan.FromSeconds(5));
        bed.Sink.Frames.Should().ContainSingle();
        bed.Sink.Frames[0].Result.Reason.Should().Be(DropReason.SlowPathError);
        gate.Waiting.Should().Be(1, "the held frames went back to the slow path rather than being lost");
    }

    [Fact]
    public void Poll_UdpTimeout_ExpiresConnectionAndRemovesBothFlows()
    {
        using var bed = new DatapathTestBed();
        bed.Send(Vm1, TestFrames.Udp("10.1.0.1", 5000, "10.1.0.2", 53)).Result.State.Should().Be(ConnState.Unreplied);
        bed.Backend.Count.Should().Be(2);
        bed.Time.Advance(TimeSpan.FromSeconds(29));
        bed.Datapath.Poll();
        bed.Backend.Count.Should().Be(2, "UNREPLIED UDP lives 30 s");
        bed.Send(Vm1, TestFrames.Udp("10.1.0.1", 5000, "10.1.0.2", 53)).Result.Path.Should().Be(PacketPath.Fast);
        bed.Time.Advance(TimeSpan.FromSeconds(29));
        bed.Datapath.Poll();
        bed.Backend.Count.Should().Be(2, "fast-path traffic refreshed the conntrack timeout (C5)");
        bed.Time.Advance(TimeSpan.FromSeconds(2));
        bed.Datapath.Poll();
        bed.Backend.Count.Should().Be(0);
        bed.Datapath.Conntrack.Count.Should().Be(0);
        bed.Send(Vm1, TestFrames.Udp("10.1.0.1", 5000, "10.1.0.2", 53)).Result.Path.Should().Be(PacketPath.Slow);
    }

    [Fact]
    public void Process_OffloadWhenEstablished_HandshakeOnSlowPathThenFast()
    {
        var options = new DatapathOptions { Offload = new OffloadPolicy { When = OffloadTrigger.Established } };
        using var bed = new DatapathTestBed(options: options);
        bed.Send(Vm1, TestFrames.Tcp("10.1.0.1", 41000, "10.1.0.2", 80, syn: true)).Result.Path.Should().Be(PacketPath.Slow);
        bed.Backend.Count.Should().Be(0);
        bed.Send(Vm2, TestFrames.Tcp("10.1.0.2", 80, "10.1.0.1", 41000, syn: true, ack: true, srcMac: TestFrames.Vm2Mac))
            .Result.Path.Should().Be(PacketPath.Slow);
        var ack = bed.Send(Vm1, TestFrames.Tcp("10.1.0.1", 41000, "10.1.0.2", 80, ack: true));
        ack.Result.Path.Should().Be(PacketPath.Slow);
        ack.Result.State.Should().Be(ConnState.Established);
        bed.Backend.Count.Should().Be(2);
        bed.Send(Vm1, TestFrames.Tcp("10.1.0.1", 41000, "10.1.0.2", 80, ack: true, payload: 100)).Result.Path.Should().Be(PacketPath.Fast);
        bed.Send(Vm2, TestFrames.Tcp("10.1.0.2", 80, "10.1.0.1", 41000, ack: true, srcMac: TestFrames.Vm2Mac)).Result.Path.Should().Be(PacketPath.Fast);
    }

    [Fact]
    public void Process_BackendTableFull_ConnectionKeepsWorkingThroughSlowPath()
    {
        using var bed = new DatapathTestBed(capacity: 2);
        bed.Send(Vm1, TestFrames.Udp("10.1.0.1", 1, "10.1.0.2", 53));
        bed.Backend.Count.Should().Be(2);
        var b1 = bed.Send(Vm1, TestFrames.Udp("10.1.0.1", 2, "10.1.0.2", 53));
        bed.Datapath.Poll();
        bed.Datapath.GetStats().FlowInstallFailures.Should().Be(2, "both flows of the second connection were refused, and said so");
        var b2 = bed.Send(Vm1, TestFrames.Udp("10.1.0.1", 2, "10.1.0.2", 53));
        b2.Result.Verdict.Should().Be(ActionVerdict.Output);
        b2.Result.OutPort.Should().Be(Vm2);
        b2.Result.Path.Should().Be(PacketPath.Slow);
        b2.Frame.Should().Equal(b1.Frame);
        var reply = bed.Send(Vm2, TestFrames.Udp("10.1.0.2", 53, "10.1.0.1", 2, srcMac: TestFrames.Vm2Mac));
        reply.Result.OutPort.Should().Be(Vm1);
        reply.Result.State.Should().Be(ConnState.Replied);
    }

    [Fact]
    public void Process_DeniedConnection_DropFlowInstalledAndCountedWithReason()
    {
        using var bed = new DatapathTestBed();
        bed.Policy.DeniedPorts.Add(22);
        var first = bed.Send(Vm1, TestFrames.Tcp("10.1.0.1", 40000, "10.1.0.2", 22, syn: true));
        first.Result.Verdict.Should().Be(ActionVerdict.Drop);
        first.Result.Reason.Should().Be(DropReason.Acl);
        var second = bed.Send(Vm1, TestFrames.Tcp("10.1.0.1", 40000, "10.1.0.2", 22, syn: true));
        second.Result.Path.Should().Be(PacketPath.Fast);
        second.Result.Reason.Should().Be(DropReason.Acl);
        bed.Datapath.GetStats().DropsByReason[DropReason.Acl].Should().Be(2);
        bed.Datapath.Conntrack.Count.Should().Be(0, "a denied connection is not tracked");
    }

    [Fact]
    public void Process_BadInput_CountedDropsWithReasons()
    {
        using var bed = new DatapathTestBed();
        bed.Send(77, TestFrames.Udp("10.1.0.1", 1, "10.1.0.2", 2)).Result.Reason.Should().Be(DropReason.UnknownPort);
        bed.Send(Vm1, new byte[10]).Result.Reason.Should().Be(DropReason.TruncatedEthernet);
        var frame = TestFrames.Udp("10.1.0.1", 1, "10.1.0.2", 2);
        frame[14] = 0x43; // IHL 3
        bed.Send(Vm1, frame).Result.Reason.Should().Be(DropReason.BadIpv4Header);
        var stats = bed.Datapath.GetStats();
        stats.Dropped.Should().Be(3);
        stats.Frames.Should().Be(3);
    }

    [Fact]
    public void Process_IcmpErrorAboutConnection_FollowsTheConnectionsFlow()
    {
        using var bed = new DatapathTestBed();
        var syn = TestFrames.Tcp("10.1.0.1", 40000, "10.1.0.2", 80, syn: true);
        bed.Send(Vm1, syn);
        var error = bed.Send(Vm2, TestFrames.IcmpUnreachable("10.1.0.2", "10.1.0.1", syn));
        error.Result.Verdict.Should().Be(ActionVerdict.Output);
        error.Result.OutPort.Should().Be(Vm1, "the error is RELATED to the connection and follows its reply flow");
        error.Result.Path.Should().Be(PacketPath.Fast);
        error.Result.State.Should().Be(ConnState.SynSent, "an error is RELATED: it reports the connection's state without changing it");
        bed.Policy.Calls.Should().Be(1);
    }

    [Fact]
    public void Process_IcmpEcho_RequestSlowReplyFast()
    {
        using var bed = new DatapathTestBed();
        var req = bed.Send(Vm1, TestFrames.IcmpEcho("10.1.0.1", "10.1.0.2", id: 77, sequence: 1));
        req.Result.Key.SrcPort.Should().Be(77);
        req.Result.State.Should().Be(ConnState.Unreplied);
        var rep = bed.Send(Vm2, TestFrames.IcmpEcho("10.1.0.2", "10.1.0.1", id: 77, sequence: 1, reply: true, srcMac: TestFrames.Vm2Mac));
        rep.Result.Path.Should().Be(PacketPath.Fast);
        rep.Result.OutPort.Should().Be(Vm1);
        rep.Result.State.Should().Be(ConnState.Replied);
    }

    [Fact]
    public void Process_TcpReset_ClosesConnectionAndFlowsGoAfterCloseTimeout()
    {
        using var bed = new DatapathTestBed();
        bed.Send(Vm1, TestFrames.Tcp("10.1.0.1", 40000, "10.1.0.2", 80, syn: true));
        var rst = bed.Send(Vm2, TestFrames.Tcp("10.1.0.2", 80, "10.1.0.1", 40000, rst: true, ack: true, srcMac: TestFrames.Vm2Mac));
        rst.Result.Path.Should().Be(PacketPath.Fast);
        rst.Result.State.Should().Be(ConnState.Close);
        bed.Time.Advance(TimeSpan.FromSeconds(11));
        bed.Datapath.Poll();
        bed.Backend.Count.Should().Be(0);
    }

    [Fact]
    public void Process_Batch_MixedHitsAndMissesKeepOrder()
    {
        using var bed = new DatapathTestBed();
        var frames = new InputFrame[40];
        for (int i = 0; i < frames.Length; i++)
            frames[i] = new InputFrame(PacketBuffer.CopyOf(TestFrames.Udp("10.1.0.1", (ushort)(1000 + i % 8), "10.1.0.2", 53)), Vm1, i);
        bed.Datapath.Process(frames);
        bed.Sink.Frames.Select(f => f.Result.Cookie).Should().Equal(Enumerable.Range(0, 40).Select(i => (long)i));
        bed.Sink.Frames.Count(f => f.Result.Path == PacketPath.Slow).Should().Be(8, "one slow-path decision per connection, even within one batch");
        bed.Policy.Calls.Should().Be(8);
    }

    [Fact]
    public void Process_BackendQueueDepthTiny_InstallsAreDeferredInOrderNeverLost()
    {
        using var bed = new DatapathTestBed(queueDepth: 3);
        for (int c = 0; c < 100; c++)
            bed.Send(Vm1, TestFrames.Udp("10.1.0.1", (ushort)(2000 + c), "10.1.0.2", 53));
        bed.Backend.Count.Should().Be(200, "back-pressure defers operations; the datapath makes room itself without waiting for Poll");
        for (int c = 0; c < 100; c++)
            bed.Send(Vm2, TestFrames.Udp("10.1.0.2", 53, "10.1.0.1", (ushort)(2000 + c), srcMac: TestFrames.Vm2Mac))
                .Result.Path.Should().Be(PacketPath.Fast);
        // Expiry removes all 200 flows through the same small queue.
        bed.Time.Advance(TimeSpan.FromSeconds(200));
        bed.Datapath.Poll();
        bed.Backend.Count.Should().Be(0, "no removal is lost to back-pressure (a lost removal is a stale allow)");
    }

    [Fact]
    public void Process_SynAfterClose_ReopensConnectionWithFreshFlows()
    {
        using var bed = new DatapathTestBed();
        Tcp(Vm1, "10.1.0.1", 40000, "10.1.0.2", 80, syn: true);
        Tcp(Vm2, "10.1.0.2", 80, "10.1.0.1", 40000, syn: true, ack: true);
        Tcp(Vm1, "10.1.0.1", 40000, "10.1.0.2", 80, ack: true).State.Should().Be(ConnState.Established);
        Tcp(Vm1, "10.1.0.1", 40000, "10.1.0.2", 80, fin: true, ack: true);
        Tcp(Vm2, "10.1.0.2", 80, "10.1.0.1", 40000, fin: true, ack: true);
        Tcp(Vm1, "10.1.0.1", 40000, "10.1.0.2", 80, ack: true).State.Should().Be(ConnState.TimeWait);
        int decisions = bed.Policy.Calls;

        var syn = Tcp(Vm1, "10.1.0.1", 40000, "10.1.0.2", 80, syn: true, seq: 777777);
        syn.Verdict.Should().Be(ActionVerdict.Output);
        syn.State.Should().Be(ConnState.SynSent, "a new SYN re-opens a TIME_WAIT connection as a new one");
        bed.Policy.Calls.Should().Be(decisions + 1, "the re-opened connection is decided afresh");
        Tcp(Vm2, "10.1.0.2", 80, "10.1.0.1", 40000, syn: true, ack: true).Path.Should().Be(PacketPath.Fast);
        bed.Datapath.Conntrack.Count.Should().Be(1);
        bed.Backend.Count.Should().Be(2);

        FrameResult Tcp(ushort port, string src, ushort sp, string dst, ushort dp, bool syn = false, bool ack = false, bool fin = false, uint seq = 1000) =>
            bed.Send(port, TestFrames.Tcp(src, sp, dst, dp, syn: syn, ack: ack, fin: fin, seq: seq,
                srcMac: port == Vm2 ? TestFrames.Vm2Mac : TestFrames.Vm1Mac)).Result;
    }
}
