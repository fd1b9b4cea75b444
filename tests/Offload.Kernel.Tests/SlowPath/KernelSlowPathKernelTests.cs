using Offload.Actions;
using Offload.Datapath;
using Offload.Kernel.Conntrack;
using Offload.Kernel.SlowPath;
using Offload.Kernel.Tests.Netns;
using Offload.Kernel.Tests.Nftables;
using Offload.Packets;
using Offload.Policy;
using Offload.Switching;
using static Offload.Kernel.Tests.SlowPath.KernelSlowPathBed;
using static Offload.Kernel.Tests.SlowPath.SlowPathFrames;

namespace Offload.Kernel.Tests.SlowPath;

/// <summary>A real datapath whose slow path is the real kernel, in a private namespace built from the demo policy.</summary>
public sealed class KernelSlowPathKernelTests : IDisposable
{
    private static readonly MacAddress Gateway = MacAddress.Parse("02:00:00:00:ff:fe");
    private static readonly MacAddress Vm1 = MacAddress.Parse("02:00:00:01:00:01");
    private static readonly MacAddress Vm2 = MacAddress.Parse("02:00:00:01:00:02");
    private static readonly MacAddress Vm3 = MacAddress.Parse("02:00:00:01:00:03");
    private static readonly MacAddress Vm4 = MacAddress.Parse("02:00:00:02:00:04");
    private static readonly NetAddress Public = NetAddress.Parse("203.0.113.5");
    private readonly PolicySnapshot _demo = PolicyFixtures.Demo();
    private KernelSlowPathBed? _bed;

    private KernelSlowPathBed Bed(PolicySnapshot? policy = null, OffloadTrigger when = OffloadTrigger.FirstPacket, KernelSlowPathOptions? options = null,
        TimeProvider? time = null) =>
        _bed ??= new KernelSlowPathBed(policy ?? _demo, when, options, time);

    [RootFact]
    public void DecideAsync_SameNetwork_FirstFrameThroughKernelLaterFramesFastPathAndOutputEqualsKernels()
    {
        KernelSlowPathBed bed = Bed();
        ushort vm1 = bed.Port("vm1"), vm2 = bed.Port("vm2");
        long kernelPacketsBefore = bed.Counters().Values.Sum(c => c.Packets);

        Result first = bed.Send(Tcp(Gateway, Vm1, "10.1.0.1", 41001, "10.1.0.2", 80), vm1);

        first.Info.Path.Should().Be(PacketPath.Slow);
        first.Info.Verdict.Should().Be(ActionVerdict.Output);
        first.Info.OutPort.Should().Be(vm2);
        bed.KernelOutputs.Should().ContainSingle().Which.KernelFrame.Should().Equal(first.Frame, "the fast path's frame is the kernel's, byte for byte");
        (DstMac(first.Frame), SrcMac(first.Frame), Ttl(first.Frame)).Should().Be((Vm2, Gateway, (byte)63));
        bed.Conntrack(new ConntrackTuple(NetAddress.Parse("10.1.0.1"), NetAddress.Parse("10.1.0.2"), IpProtocol.Tcp, 41001, 80)).Should().NotBeNull();
        var countersAfterFirst = bed.Counters();
        countersAfterFirst.Values.Sum(c => c.Packets).Should().BeGreaterThan(kernelPacketsBefore, "the first packet met the ruleset");
        long fastBefore = bed.Datapath.GetStats().FastPathFrames;

        Result synAck = bed.Send(Tcp(Gateway, Vm2, "10.1.0.2", 80, "10.1.0.1", 41001, flags: 0x12, seq: 5000, ack: 1001), vm2);
        Result ackFrame = bed.Send(Tcp(Gateway, Vm1, "10.1.0.1", 41001, "10.1.0.2", 80, flags: 0x10, seq: 1001, ack: 5001), vm1);

        synAck.Info.Path.Should().Be(PacketPath.Fast);
        synAck.Info.OutPort.Should().Be(vm1);
        DstMac(synAck.Frame).Should().Be(Vm1);
        ackFrame.Info.Path.Should().Be(PacketPath.Fast);
        ackFrame.Info.OutPort.Should().Be(vm2);
        bed.Datapath.GetStats().FastPathFrames.Should().Be(fastBefore + 2);
        bed.Counters().Should().BeEquivalentTo(countersAfterFirst, "later packets never reached the kernel");
        bed.SlowPath.Stats.Should().Match<KernelSlowPathStats>(s => s.Injected == 1 && s.Verified == 1 && s.Mismatches == 0);
    }

    [RootFact]
    public void DecideAsync_BothDirectionsOfOneConnectionInKernelAtOnce_EachOutputMatchedToItsOwnPacket()
    {
        // A SYN retransmitted while the SYN-ACK is in the kernel: one entry, two outputs (the SYN-ACK to vm1's device,
        // which the adapter reads first, and the SYN to vm2's). Matched crosswise, both would go out as the kernel's
        // frames with nothing tracked, and the datapath's connection would stay SYN_SENT while the endpoints go on.
        KernelSlowPathBed bed = Bed(when: OffloadTrigger.Established);
        ushort vm1 = bed.Port("vm1"), vm2 = bed.Port("vm2");
        byte[] syn = Tcp(Gateway, Vm1, "10.1.0.1", 41008, "10.1.0.2", 80);
        bed.Send(syn, vm1).Info.State.Should().Be(Offload.Conntrack.ConnState.SynSent);

        Result[] results = bed.SendBatch(
            (syn, vm1),
            (Tcp(Gateway, Vm2, "10.1.0.2", 80, "10.1.0.1", 41008, flags: 0x12, seq: 5000, ack: 1001), vm2));

        bed.SlowPath.Stats.Should().Match<KernelSlowPathStats>(s => s.Injected == 3 && s.Verified == 3 && s.Mismatches == 0);
        (results[0].Info.IsResponse, results[0].Info.OutPort, results[0].Info.Path).Should().Be((false, vm2, PacketPath.Slow), "the SYN took its own decision");
        (results[1].Info.IsResponse, results[1].Info.OutPort).Should().Be((false, vm1), "the SYN-ACK took its own decision");
        results[1].Info.State.Should().Be(Offload.Conntrack.ConnState.SynRecv, "the datapath's conntrack saw the SYN-ACK");
        Result ack = bed.Send(Tcp(Gateway, Vm1, "10.1.0.1", 41008, "10.1.0.2", 80, flags: 0x10, seq: 1001, ack: 5001), vm1);
        (ack.Info.Verdict, ack.Info.State).Should().Be((ActionVerdict.Output, Offload.Conntrack.ConnState.Established));
    }

    [RootFact]
    public void DecideAsync_PeeredNetwork_RoutedByKernelWithTtlDecremented()
    {
        KernelSlowPathBed bed = Bed();

        Result result = bed.Send(Tcp(Gateway, Vm4, "10.2.0.4", 41002, "10.1.0.2", 80), bed.Port("vm4"));

        result.Info.OutPort.Should().Be(bed.Port("vm2"));
        (DstMac(result.Frame), Ttl(result.Frame)).Should().Be((Vm2, (byte)63));
        bed.KernelOutputs.Should().ContainSingle().Which.KernelFrame.Should().Equal(result.Frame);
    }

    [RootFact]
    public void DecideAsync_RemoteVm_EncapsulatedOutOfUplinkAndInnerEqualsKernels()
    {
        KernelSlowPathBed bed = Bed();

        Result result = bed.Send(Tcp(Gateway, Vm1, "10.1.0.1", 41003, "10.1.0.3", 80), bed.Port("vm1"));

        result.Info.OutPort.Should().Be(PortRegistry.Uplink);
        PacketParser.Parse(result.Frame, out ParsedPacket outer);
        outer.Tunnel.Should().Be(TunnelKind.Vxlan);
        outer.DstIp.Should().Be(NetAddress.Parse("192.0.2.11"), "vm3 lives on host-b");
        outer.Vni.Should().Be(100u);
        byte[] kernel = bed.KernelOutputs.Should().ContainSingle().Subject.KernelFrame;
        result.Frame.AsSpan(outer.InnerOffset).ToArray().Should().Equal(kernel);
        DstMac(kernel).Should().Be(Vm3);
    }

    [RootFact]
    public void DecideAsync_TunnelFrameFromRemoteVm_DecapsulatedAndDeliveredWithVmMac()
    {
        KernelSlowPathBed bed = Bed();
        UnderlayConfig hostB = _demo.Hosts[0].Underlay;
        byte[] inner = Tcp(MacAddress.Parse("02:00:00:00:0b:99"), Vm3, "10.1.0.3", 41004, "10.1.0.2", 80);

        Result result = bed.Send(Tunnel(inner, TunnelType.Vxlan, 100, hostB, _demo.Host.Underlay), PortRegistry.Uplink);

        result.Info.Verdict.Should().Be(ActionVerdict.Output);
        result.Info.OutPort.Should().Be(bed.Port("vm2"));
        (DstMac(result.Frame), SrcMac(result.Frame)).Should().Be((Vm2, Gateway), "C13: the VM's MAC is written on delivery");
        (SrcIp(result.Frame), DstPort(result.Frame)).Should().Be((NetAddress.Parse("10.1.0.3"), (ushort)80));
        bed.KernelOutputs.Should().ContainSingle().Which.KernelFrame.Should().Equal(result.Frame);
    }

    [RootFact]
    public void DecideAsync_GreFrameFromRemoteVmOfRed_DeliveredToVm4AndReplyEncapsulatedBack()
    {
        KernelSlowPathBed bed = Bed();
        UnderlayConfig hostB = _demo.Hosts[0].Underlay;
        ushort vm4 = bed.Port("vm4");
        byte[] inner = Udp(Vm4, MacAddress.Parse("02:00:00:02:00:05"), "10.2.0.5", 41140, "10.2.0.4", 53);

        Result result = bed.Send(Tunnel(inner, TunnelType.Gre, 200, hostB, _demo.Host.Underlay), PortRegistry.Uplink);
        Result reply = bed.Send(Udp(Gateway, Vm4, "10.2.0.4", 53, "10.2.0.5", 41140), vm4);

        result.Info.OutPort.Should().Be(vm4);
        result.Frame.Should().Equal(bed.KernelOutputs.Single().KernelFrame);
        reply.Info.Path.Should().Be(PacketPath.Fast);
        reply.Info.OutPort.Should().Be(PortRegistry.Uplink);
        PacketParser.Parse(reply.Frame, out ParsedPacket outer);
        (outer.Tunnel, outer.Vni, outer.DstIp).Should().Be((TunnelKind.Gre, 200u, hostB.Ip));
    }

    [RootFact]
    public void DecideAsync_TunnelFrameOfUnknownVni_DroppedWithoutInjection()
    {
        KernelSlowPathBed bed = Bed();
        byte[] inner = Udp(Vm1, Vm3, "10.1.0.3", 41150, "10.1.0.1", 53);

        Result result = bed.Send(Tunnel(inner, TunnelType.Vxlan, 999, _demo.Hosts[0].Underlay, _demo.Host.Underlay), PortRegistry.Uplink);

        result.Info.Reason.Should().Be(DropReason.NoRoute);
        bed.SlowPath.Stats.Injected.Should().Be(0);
    }

    [RootFact]
    public void DecideAsync_Ipv6BetweenLocalVms_HopLimitDecrementedAndOutputEqualsKernels()
    {
        PolicySnapshot policy = _demo with
        {
            Networks = [.. _demo.Networks.Select(n => n.Name == "blue" ? n with { Cidr6 = Prefix.Parse("fd00:1::/64") } : n)],
            Ports = [.. _demo.Ports.Select(p => p.Name switch
            {
                "vm1" => p with { Ipv6 = NetAddress.Parse("fd00:1::1") },
                "vm2" => p with { Ipv6 = NetAddress.Parse("fd00:1::2") },
                _ => p,
            })],
        };
        KernelSlowPathBed bed = Bed(policy);

        Result result = bed.Send(Tcp6(Gateway, Vm1, "fd00:1::1", 41160, "fd00:1::2", 80), bed.Port("vm1"));

        result.Info.Verdict.Should().Be(ActionVerdict.Output);
        result.Info.OutPort.Should().Be(bed.Port("vm2"));
        result.Frame[14 + 7].Should().Be(63, "the hop limit is decremented");
        result.Frame.Should().Equal(bed.KernelOutputs.Single().KernelFrame);
    }

    [RootFact]
    public void DecideAsync_AclDenied_DropWithRuleAndDropFlowStopsTheNextFrameInFastPath()
    {
        KernelSlowPathBed bed = Bed();
        byte[] ssh = Tcp(Gateway, Vm1, "10.1.0.1", 41005, "10.1.0.2", 22);

        Result first = bed.Send(ssh, bed.Port("vm1"));
        Result second = bed.Send(ssh, bed.Port("vm1"));

        first.Info.Verdict.Should().Be(ActionVerdict.Drop);
        first.Info.Reason.Should().Be(DropReason.Acl);
        first.Info.Path.Should().Be(PacketPath.Slow);
        second.Info.Path.Should().Be(PacketPath.Fast, "the drop flow holds the decision");
        second.Info.Verdict.Should().Be(ActionVerdict.Drop);
        bed.SlowPath.Stats.Dropped.Should().Be(1);
        bed.SlowPath.Stats.Injected.Should().Be(1);
    }

    [RootFact]
    public void DecideAsync_SecurityGroup_UnsolicitedInboundDeniedButReplyToVmsOwnConnectionAllowed()
    {
        KernelSlowPathBed bed = Bed(when: OffloadTrigger.Established);
        ushort vm1 = bed.Port("vm1"), vm2 = bed.Port("vm2");

        Result inbound = bed.Send(Udp(Gateway, Vm1, "10.1.0.1", 41006, "10.1.0.2", 53), vm1);
        Result outbound = bed.Send(Udp(Gateway, Vm2, "10.1.0.2", 41007, "10.1.0.1", 53), vm2);
        Result reply = bed.Send(Udp(Gateway, Vm1, "10.1.0.1", 53, "10.1.0.2", 41007), vm1);

        inbound.Info.Reason.Should().Be(DropReason.SecurityGroup);
        outbound.Info.OutPort.Should().Be(vm1);
        reply.Info.Verdict.Should().Be(ActionVerdict.Output);
        reply.Info.OutPort.Should().Be(vm2);
        reply.Info.Path.Should().Be(PacketPath.Slow, "under 'established' the reply goes through the kernel too, which admits it as established");
        bed.KernelOutputs.Should().HaveCount(2).And.OnlyContain(o => o.Verified);
    }

    [RootFact]
    public void DecideAsync_LeastConnectionsVipWithThreeBackends_AdapterPinsOneConnectionPerBackend()
    {
        LoadBalancerConfig web = _demo.LoadBalancers[0];
        BackendConfig third = web.Backends[0] with { Ip = NetAddress.Parse("10.2.0.4") };
        PolicySnapshot policy = _demo with
        {
            LoadBalancers = [web with { Algorithm = LoadBalancingAlgorithm.LeastConnections, Backends = [.. web.Backends, third] }],
        };
        KernelSlowPathBed bed = Bed(policy);

        var backends = new List<NetAddress>();
        for (ushort i = 0; i < 3; i++)
        {
            ushort sport = (ushort)(41010 + i);
            Result result = bed.Send(Tcp(Gateway, Vm1, "10.1.0.1", sport, "10.1.255.10", 80), bed.Port("vm1"));
            result.Info.Verdict.Should().Be(ActionVerdict.Output);
            KernelConntrackEntry entry = bed.Conntrack(new ConntrackTuple(NetAddress.Parse("10.1.0.1"), NetAddress.Parse("10.1.255.10"), IpProtocol.Tcp, sport, 80))!.Value;
            entry.Reply.SourcePort.Should().Be(8080);
            PacketParser.Parse(result.Frame, out ParsedPacket p);
            NetAddress delivered = p.Tunnel == TunnelKind.None ? p.DstIp : InnerDst(result.Frame, p);
            delivered.Should().Be(entry.Reply.Source, "the datapath delivers to the backend the kernel DNATed to");
            backends.Add(entry.Reply.Source);
        }

        backends.Should().OnlyHaveUniqueItems("least-connections spreads three connections over three backends");
        foreach (BackendConfig b in policy.LoadBalancers[0].Backends)
            bed.SlowPath.ActiveConnections(web.Vip, 80, IpProtocol.Tcp, b.Ip, b.Port).Should().Be(1);
        bed.KernelOutputs.Should().OnlyContain(o => o.Verified);
    }

    [RootFact]
    public void DecideAsync_PublicDestination_SnatOutOfUplinkAndReplyTranslatedBack()
    {
        KernelSlowPathBed bed = Bed();
        ushort vm1 = bed.Port("vm1");

        Result out1 = bed.Send(Tcp(Gateway, Vm1, "10.1.0.1", 41020, "198.51.100.7", 443), vm1);

        out1.Info.OutPort.Should().Be(PortRegistry.Uplink);
        SrcIp(out1.Frame).Should().Be(Public);
        (SrcMac(out1.Frame), DstMac(out1.Frame)).Should().Be((_demo.Host.Underlay.Mac, Gateway));
        ushort natPort = SrcPort(out1.Frame);
        byte[] synAck = Tcp(_demo.Host.Underlay.Mac, Gateway, "198.51.100.7", 443, "203.0.113.5", natPort, flags: 0x12, seq: 7000, ack: 1001);

        Result back = bed.Send(synAck, PortRegistry.Uplink);

        back.Info.Path.Should().Be(PacketPath.Fast);
        back.Info.OutPort.Should().Be(vm1);
        (DstIp(back.Frame), DstPort(back.Frame), DstMac(back.Frame)).Should().Be((NetAddress.Parse("10.1.0.1"), (ushort)41020, Vm1));
    }

    [RootFact]
    public void DecideAsync_IcmpErrorRelatedToSnatConnection_KernelUnNatsItToTheVm()
    {
        KernelSlowPathBed bed = Bed(when: OffloadTrigger.Established);
        ushort vm1 = bed.Port("vm1");
        Result query = bed.Send(Udp(Gateway, Vm1, "10.1.0.1", 41030, "198.51.100.7", 53, ipId: 77), vm1);
        query.Info.OutPort.Should().Be(PortRegistry.Uplink);
        byte[] error = PortUnreachable(_demo.Host.Underlay.Mac, Gateway, "198.51.100.7", "203.0.113.5", query.Frame, ipId: 4242);

        Result delivered = bed.Send(error, PortRegistry.Uplink);

        delivered.Info.Verdict.Should().Be(ActionVerdict.Output);
        delivered.Info.OutPort.Should().Be(vm1);
        DstIp(delivered.Frame).Should().Be(NetAddress.Parse("10.1.0.1"));
        PacketParser.Parse(delivered.Frame, out ParsedPacket p);
        (p.IsIcmpError, p.InnerSrcIp, p.InnerSrcPort).Should().Be((true, NetAddress.Parse("10.1.0.1"), (ushort)41030), "the quoted packet is un-NATed too");
        bed.KernelOutputs.Last().KernelFrame.Should().Equal(delivered.Frame);
    }

    [RootFact]
    public void DecideAsync_KernelNeverAnswers_CountedTimeoutDrop()
    {
        KernelSlowPathBed bed = Bed(options: new KernelSlowPathOptions { DecisionTimeout = TimeSpan.FromMilliseconds(200) });
        // A multicast destination MAC is never rewritten, and the kernel does not route a unicast IP packet sent to one.
        byte[] frame = Tcp(MacAddress.Parse("01:00:5e:00:00:01"), Vm1, "10.1.0.1", 41040, "10.1.0.2", 80);

        Result result = bed.Send(frame, bed.Port("vm1"));

        result.Info.Reason.Should().Be(DropReason.SlowPathTimeout);
        bed.SlowPath.Stats.TimedOut.Should().Be(1);
        bed.SlowPath.Stats.Pending.Should().Be(0);
    }

    [RootFact]
    public void RecoverConnections_NewAdapterOverSameNamespace_RebuildsDecisionsOfLiveConnections()
    {
        KernelSlowPathBed bed = Bed();
        ushort vm1 = bed.Port("vm1");
        bed.Send(Tcp(Gateway, Vm1, "10.1.0.1", 41050, "10.1.0.2", 80), vm1);
        bed.Send(Tcp(Gateway, Vm1, "10.1.0.1", 41051, "198.51.100.7", 443), vm1);
        var live = new List<Offload.Conntrack.ConnectionInfo>();
        foreach (var c in bed.Datapath.Conntrack.Snapshot())
            live.Add(c);

        KernelSlowPath restarted = bed.Restart();
        IReadOnlyList<KernelRecoveredConnection> recovered = restarted.RecoverConnections();

        recovered.Should().HaveCount(2);
        foreach (var c in live)
        {
            KernelRecoveredConnection r = recovered.Single(x => x.OriginalKey.Equals(c.Original));
            r.Decision.ReplyKey.Should().Be(c.Reply);
            r.Decision.Action.Program.Ops.ToArray().Should().NotBeEmpty();
            restarted.TryResolveDatapathKey(r.Entry, out var key).Should().BeTrue();
            key.Should().Be(c.Original);
            r.State.Should().Be(Offload.Conntrack.ConnState.SynSent);
        }
    }

    [RootFact]
    public void DecideAsync_PeeredRemoteVm_GreEncapsulatedWithDestinationNetworksKey()
    {
        KernelSlowPathBed bed = Bed();

        Result result = bed.Send(Tcp(Gateway, Vm1, "10.1.0.1", 41060, "10.2.0.5", 80), bed.Port("vm1"));

        result.Info.OutPort.Should().Be(PortRegistry.Uplink);
        PacketParser.Parse(result.Frame, out ParsedPacket outer);
        (outer.Tunnel, outer.Vni, outer.DstIp).Should().Be((TunnelKind.Gre, 200u, NetAddress.Parse("192.0.2.11")), "vm5 is in red (GRE, 200) on host-b");
        result.Frame.AsSpan(outer.InnerOffset).ToArray().Should().Equal(bed.KernelOutputs.Single().KernelFrame);
    }

    [RootFact]
    public void DecideAsync_PingBetweenLocalVms_IcmpEchoLearnedAndReplyInstalled()
    {
        KernelSlowPathBed bed = Bed();
        ushort vm1 = bed.Port("vm1"), vm2 = bed.Port("vm2");
        byte[] echo = PacketIo.TestFrames.EchoRequest(Gateway, Vm1, PacketIo.TestFrames.V4("10.1.0.1"), PacketIo.TestFrames.V4("10.1.0.2"), 0x4242, 1, "ping"u8);

        Result request = bed.Send(echo, vm1);
        byte[] reply = PacketIo.TestFrames.EchoRequest(Gateway, Vm2, PacketIo.TestFrames.V4("10.1.0.2"), PacketIo.TestFrames.V4("10.1.0.1"), 0x4242, 1, "ping"u8);
        reply[34] = 0; // echo reply
        reply[36] = 0;
        reply[37] = 0;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(reply.AsSpan(36), PacketIo.TestFrames.Checksum(reply.AsSpan(34)));
        Result answer = bed.Send(reply, vm2);

        request.Info.OutPort.Should().Be(vm2);
        request.Frame.Should().Equal(bed.KernelOutputs.Single().KernelFrame);
        answer.Info.Path.Should().Be(PacketPath.Fast, "the echo reply's flow was installed with the request's");
        answer.Info.OutPort.Should().Be(vm1);
    }

    [RootFact]
    public void DecideAsync_HandshakeUnderEstablishedTrigger_KnownConnectionPacketsGoThroughKernelUntilOffloaded()
    {
        KernelSlowPathBed bed = Bed(when: OffloadTrigger.Established);
        ushort vm1 = bed.Port("vm1"), vm2 = bed.Port("vm2");
        var tuple = new ConntrackTuple(NetAddress.Parse("10.1.0.1"), NetAddress.Parse("10.1.0.2"), IpProtocol.Tcp, 41070, 80);

        Result syn = bed.Send(Tcp(Gateway, Vm1, "10.1.0.1", 41070, "10.1.0.2", 80), vm1);
        Result synAck = bed.Send(Tcp(Gateway, Vm2, "10.1.0.2", 80, "10.1.0.1", 41070, flags: 0x12, seq: 5000, ack: 1001), vm2);
        Result ack = bed.Send(Tcp(Gateway, Vm1, "10.1.0.1", 41070, "10.1.0.2", 80, flags: 0x10, seq: 1001, ack: 5001), vm1);
        Result data = bed.Send(Tcp(Gateway, Vm1, "10.1.0.1", 41070, "10.1.0.2", 80, flags: 0x18, seq: 1001, ack: 5001), vm1);

        (syn.Info.Path, synAck.Info.Path, ack.Info.Path).Should().Be((PacketPath.Slow, PacketPath.Slow, PacketPath.Slow));
        synAck.Info.OutPort.Should().Be(vm1);
        ack.Info.OutPort.Should().Be(vm2);
        data.Info.Path.Should().Be(PacketPath.Fast, "established: both directions are offloaded");
        bed.Conntrack(tuple)!.Value.KernelTcpState.Should().Be(3, "the kernel saw the whole handshake (TCP_CONNTRACK_ESTABLISHED)");
        bed.KernelOutputs.Should().HaveCount(3).And.OnlyContain(o => o.Verified);
    }

    [RootFact]
    public void OnConnectionRemoved_PinnedVipConnection_ReleasesCountAndKernelPin()
    {
        KernelSlowPathBed bed = Bed(_demo with { LoadBalancers = [_demo.LoadBalancers[0] with { Algorithm = LoadBalancingAlgorithm.LeastConnections }] });
        LoadBalancerConfig web = bed.Topology.Policy.LoadBalancers[0];
        bed.Send(Tcp(Gateway, Vm1, "10.1.0.1", 41080, "10.1.255.10", 80), bed.Port("vm1"));
        string map = Offload.Kernel.Nftables.NftablesRulesetGenerator.BackendAddressMapName(web.Name);
        bed.Namespace.Exec("nft", "list", "map", "inet", bed.Topology.Topology.TableName, map).Should().Contain("41080");
        Offload.Conntrack.ConnectionInfo connection = bed.Datapath.Conntrack.Snapshot().Single();
        NetAddress backend = connection.Reply.SrcIp;
        bed.SlowPath.ActiveConnections(web.Vip, 80, IpProtocol.Tcp, backend, 8080).Should().Be(1);

        bed.Datapath.Conntrack.Remove(connection.Id, Offload.Conntrack.ConntrackRemoveReason.Explicit);

        bed.SlowPath.ActiveConnections(web.Vip, 80, IpProtocol.Tcp, backend, 8080).Should().Be(0);
        long deadline = Environment.TickCount64 + 2000;
        while (bed.Namespace.Exec("nft", "list", "map", "inet", bed.Topology.Topology.TableName, map).Contains("41080", StringComparison.Ordinal)
               && Environment.TickCount64 < deadline)
            Thread.Sleep(20);
        bed.Namespace.Exec("nft", "list", "map", "inet", bed.Topology.Topology.TableName, map).Should().NotContain("41080");
    }

    [RootFact]
    public void DecideAsync_KernelRewritesOtherwiseThanLearned_CountsMismatchSendsKernelsFrameAndInstallsNothing()
    {
        KernelSlowPathBed bed = Bed();
        ushort vm1 = bed.Port("vm1"), vm2 = bed.Port("vm2");
        MacAddress odd = MacAddress.Parse("02:00:00:00:99:99");
        // The kernel now addresses vm2 with a MAC the topology does not say.
        bed.Namespace.Exec("ip", "neigh", "replace", "10.1.0.2", "lladdr", odd.ToString(), "dev", bed.Topology.Ports["vm2"].Name, "nud", "permanent");

        Result first = bed.Send(Tcp(Gateway, Vm1, "10.1.0.1", 41090, "10.1.0.2", 80), vm1);
        Result again = bed.Send(Tcp(Gateway, Vm1, "10.1.0.1", 41090, "10.1.0.2", 80), vm1); // the SYN retransmitted

        first.Info.IsResponse.Should().BeTrue("the kernel's own frame is sent in place of the request");
        first.Info.OutPort.Should().Be(vm2);
        DstMac(first.Frame).Should().Be(odd);
        first.Frame.Should().Equal(bed.KernelOutputs[0].KernelFrame);
        again.Info.Path.Should().Be(PacketPath.Slow, "nothing was offloaded: the kernel keeps deciding");
        bed.SlowPath.Stats.Should().Match<KernelSlowPathStats>(s => s.Mismatches == 2 && s.Verified == 0);
        bed.Datapath.GetStats().FlowsInstalled.Should().Be(0);
    }

    [RootFact]
    public void DecideAsync_VipBackendDeniedAfterDnat_DropMatchedToTheVipRequestByDeviceAndSource()
    {
        LoadBalancerConfig web = _demo.LoadBalancers[0];
        BackendConfig closed = web.Backends[0] with { Port = 9090 }; // vm2's security group admits 80 and 8080 only
        KernelSlowPathBed bed = Bed(_demo with { LoadBalancers = [web with { Backends = [closed] }] });

        Result result = bed.Send(Tcp(Gateway, Vm1, "10.1.0.1", 41100, "10.1.255.10", 80), bed.Port("vm1"));

        result.Info.Verdict.Should().Be(ActionVerdict.Drop);
        result.Info.Reason.Should().Be(DropReason.SecurityGroup, "NFLOG logged the DNATed tuple, which still names the VIP request's source");
        bed.SlowPath.ActiveConnections(web.Vip, 80, IpProtocol.Tcp, closed.Ip, 9090).Should().Be(0, "a dropped connection gives its backend share back");
    }

    [RootFact]
    public void DecideAsync_InjectedClockPassesTimeout_DropsWithoutWaitingRealTime()
    {
        var clock = new ManualClock();
        KernelSlowPathBed bed = Bed(options: new KernelSlowPathOptions { DecisionTimeout = TimeSpan.FromHours(1) }, time: clock);
        byte[] frame = Tcp(MacAddress.Parse("01:00:5e:00:00:01"), Vm1, "10.1.0.1", 41110, "10.1.0.2", 80);
        var input = new InputFrame(PacketBuffer.CopyOf(frame), bed.Port("vm1"), 1);
        bed.Datapath.Process(ref input);
        Thread.Sleep(100);
        bed.SlowPath.Stats.Pending.Should().Be(1, "an hour has not passed on the injected clock");

        clock.Advance(TimeSpan.FromHours(1));

        long deadline = Environment.TickCount64 + 2000;
        while (bed.SlowPath.Stats.TimedOut == 0 && Environment.TickCount64 < deadline)
            Thread.Sleep(5);
        bed.SlowPath.Stats.Should().Match<KernelSlowPathStats>(s => s.TimedOut == 1 && s.Pending == 0);
    }

    [RootFact]
    public void ApplyPolicy_AclNowDeniesWeb_NextConnectionDroppedByTheNewRule()
    {
        KernelSlowPathBed bed = Bed();
        bed.Send(Tcp(Gateway, Vm1, "10.1.0.1", 41120, "10.1.0.2", 80), bed.Port("vm1")).Info.Verdict.Should().Be(ActionVerdict.Output);
        AclRuleConfig ssh = _demo.Acl.Rules[0];
        PolicySnapshot next = _demo with { Acl = _demo.Acl with { Rules = [ssh with { DstPorts = PortSet.Parse("22,80") }] } };

        bed.SlowPath.ApplyPolicy(next);
        Result result = bed.Send(Tcp(Gateway, Vm1, "10.1.0.1", 41121, "10.1.0.2", 80), bed.Port("vm1"));

        result.Info.Reason.Should().Be(DropReason.Acl);
        bed.SlowPath.Policy.Snapshot.Should().BeSameAs(next);
    }

    [RootFact]
    public void Revalidate_PolicyNowDeniesOffloadedConnection_RemovedFromFastPathAndKernel()
    {
        KernelSlowPathBed bed = Bed();
        ushort vm1 = bed.Port("vm1");
        var tuple = new ConntrackTuple(NetAddress.Parse("10.1.0.1"), NetAddress.Parse("10.1.0.2"), IpProtocol.Tcp, 41130, 80);
        bed.Send(Tcp(Gateway, Vm1, "10.1.0.1", 41130, "10.1.0.2", 80), vm1);
        bed.Send(Tcp(Gateway, Vm1, "10.1.0.4", 41131, "10.1.0.3", 443), vm1); // spoofed: dropped, nothing tracked
        bed.Send(Tcp(Gateway, Vm1, "10.1.0.1", 41132, "10.1.0.3", 443), vm1); // to the remote vm3: stays allowed
        AclRuleConfig ssh = _demo.Acl.Rules[0];
        bed.SlowPath.ApplyPolicy(_demo with { Acl = _demo.Acl with { Rules = [ssh with { DstPorts = PortSet.Parse("22,80") }] } });

        RevalidationResult result = bed.Datapath.Revalidate(bed.SlowPath);

        (result.Checked, result.Removed).Should().Be((2, 1));
        long deadline = Environment.TickCount64 + 2000;
        while (bed.Conntrack(tuple) is not null && Environment.TickCount64 < deadline)
            Thread.Sleep(10);
        bed.Conntrack(tuple).Should().BeNull("the kernel forgets the denied connection too");
        Result next = bed.Send(Tcp(Gateway, Vm1, "10.1.0.1", 41130, "10.1.0.2", 80, flags: 0x10, seq: 1001, ack: 1), vm1);
        next.Info.Verdict.Should().Be(ActionVerdict.Drop);
        next.Info.Path.Should().Be(PacketPath.Slow, "its flows are gone");
    }

    private sealed class ManualClock : TimeProvider
    {
        private long _ticks = 1_000_000;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref _ticks);

        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
    }

    private static NetAddress InnerDst(byte[] frame, in ParsedPacket outer)
    {
        PacketParser.Parse(frame.AsSpan(outer.InnerOffset), out ParsedPacket inner);
        return inner.DstIp;
    }

    public void Dispose() => _bed?.Dispose();
}
