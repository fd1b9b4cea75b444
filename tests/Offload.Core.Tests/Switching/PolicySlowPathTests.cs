using Offload.Actions;
using Offload.Conntrack;
using Offload.Datapath;
using Offload.Packets;
using Offload.Tests.Datapath;
using static Offload.Tests.Switching.SwitchTestBed;

namespace Offload.Tests.Switching;

/// <summary>One scenario per claim (C6–C13, S1, S2, S4, A1) through the policy slow path and the datapath.</summary>
public class PolicySlowPathTests
{
    private static void Parse(byte[] frame, out ParsedPacket outer, out ParsedPacket inner)
    {
        PacketParser.Parse(frame, out outer);
        outer.IsValid.Should().BeTrue();
        inner = outer;
        if (outer.Tunnel != TunnelKind.None)
            PacketParser.Parse(frame.AsSpan(outer.InnerOffset), out inner);
    }

    [Fact]
    public void C8_SameNetworkLocalDestination_DeliveredWithReceiverMac_ThenFastBothWays()
    {
        using var bed = new SwitchTestBed();
        var syn = bed.From("vm1", TestFrames.Tcp("10.1.0.1", 40000, "10.1.0.2", 80, syn: true, srcMac: Vm1, dstMac: Gateway));
        syn.Result.Path.Should().Be(PacketPath.Slow);
        bed.OutName(syn.Result).Should().Be("vm2");
        MacAddress.Read(syn.Frame).Should().Be(Vm2);
        var synAck = bed.From("vm2", TestFrames.Tcp("10.1.0.2", 80, "10.1.0.1", 40000, syn: true, ack: true, srcMac: Vm2, dstMac: Gateway));
        synAck.Result.Path.Should().Be(PacketPath.Fast);
        bed.OutName(synAck.Result).Should().Be("vm1");
        synAck.Result.State.Should().Be(ConnState.SynRecv);
    }

    [Fact]
    public void C7_SwitchedByDestinationIpWhateverTheDestinationMac()
    {
        using var bed = new SwitchTestBed();
        var r = bed.From("vm2", TestFrames.Udp("10.1.0.2", 5000, "10.1.0.1", 80, srcMac: Vm2, dstMac: MacAddress.Parse("02:99:99:99:99:99")));
        bed.OutName(r.Result).Should().Be("vm1");
        MacAddress.Read(r.Frame).Should().Be(Vm1);
    }

    [Fact]
    public void C6_AclDeny_DroppedCountedAndCachedInFastPath()
    {
        using var bed = new SwitchTestBed();
        var r = bed.From("vm1", TestFrames.Tcp("10.1.0.1", 40000, "10.1.0.2", 22, syn: true, srcMac: Vm1));
        r.Result.Verdict.Should().Be(ActionVerdict.Drop);
        r.Result.Reason.Should().Be(DropReason.Acl);
        bed.From("vm1", TestFrames.Tcp("10.1.0.1", 40000, "10.1.0.2", 22, syn: true, srcMac: Vm1)).Result.Path.Should().Be(PacketPath.Fast);
        bed.Switch.Datapath.GetStats().DropsByReason[DropReason.Acl].Should().Be(2);
    }

    [Fact]
    public void S1_SecurityGroup_DeniesUnsolicitedInboundAllowsListedPortsAndReplies()
    {
        using var bed = new SwitchTestBed();
        bed.From("vm1", TestFrames.Tcp("10.1.0.1", 40000, "10.1.0.2", 8080, syn: true, srcMac: Vm1)).Result.Reason.Should().Be(DropReason.SecurityGroup);
        bed.From("vm1", TestFrames.Tcp("10.1.0.1", 40001, "10.1.0.2", 443, syn: true, srcMac: Vm1)).Result.Verdict.Should().Be(ActionVerdict.Output);
        // vm2 (behind the group) opens a connection out: the reply comes back in although inbound is denied.
        bed.From("vm2", TestFrames.Tcp("10.1.0.2", 33000, "10.1.0.1", 9000, syn: true, srcMac: Vm2)).Result.Verdict.Should().Be(ActionVerdict.Output);
        var reply = bed.From("vm1", TestFrames.Tcp("10.1.0.1", 9000, "10.1.0.2", 33000, syn: true, ack: true, srcMac: Vm1));
        reply.Result.Verdict.Should().Be(ActionVerdict.Output);
        bed.OutName(reply.Result).Should().Be("vm2");
        reply.Result.Path.Should().Be(PacketPath.Fast);
    }

    [Fact]
    public void C9_RemoteHost_VxlanForSameNetwork_GreForPeeredNetwork()
    {
        using var bed = new SwitchTestBed();
        var toVm3 = bed.From("vm1", TestFrames.Udp("10.1.0.1", 5000, "10.1.0.3", 53, srcMac: Vm1));
        bed.OutName(toVm3.Result).Should().Be("uplink");
        Parse(toVm3.Frame, out var outer, out var inner);
        outer.Tunnel.Should().Be(TunnelKind.Vxlan);
        outer.Vni.Should().Be(100);
        outer.SrcIp.Should().Be(NetAddress.Parse("192.0.2.10"));
        outer.DstIp.Should().Be(NetAddress.Parse("192.0.2.11"));
        outer.DstMac.Should().Be(HostB);
        inner.DstMac.Should().Be(Vm3);

        var toVm4 = bed.From("vm1", TestFrames.Udp("10.1.0.1", 5001, "10.2.0.4", 53, srcMac: Vm1));
        Parse(toVm4.Frame, out outer, out inner);
        outer.Tunnel.Should().Be(TunnelKind.Gre);
        outer.Vni.Should().Be(200, "encapsulated with the destination network's tunnel type and VNI");
        inner.DstIp.Should().Be(NetAddress.Parse("10.2.0.4"));
    }

    [Fact]
    public void C12_C13_C14_C15_TunnelFromUplink_DecappedDeliveredThenFast_AndReplyTunnelledBack()
    {
        using var bed = new SwitchTestBed();
        var inner = TestFrames.Udp("10.1.0.3", 7000, "10.1.0.1", 5353, srcMac: Vm3, dstMac: Gateway);
        var tunnel = TestFrames.Vxlan(inner, 100, "192.0.2.11", "192.0.2.10", HostB, HostA);
        bed.Switch.IngressPortOf(tunnel).Should().Be(bed.Port("uplink"));
        var first = bed.From("uplink", tunnel);
        first.Result.Path.Should().Be(PacketPath.Slow);
        bed.OutName(first.Result).Should().Be("vm1");
        MacAddress.Read(first.Frame).Should().Be(Vm1, "the inner destination MAC is set from the destination port (C13)");
        first.Frame.Length.Should().Be(inner.Length);
        bed.From("uplink", tunnel).Result.Path.Should().Be(PacketPath.Fast);

        var reply = bed.From("vm1", TestFrames.Udp("10.1.0.1", 5353, "10.1.0.3", 7000, srcMac: Vm1));
        reply.Result.Path.Should().Be(PacketPath.Fast);
        Parse(reply.Frame, out var outer, out var back);
        outer.Tunnel.Should().Be(TunnelKind.Vxlan);
        outer.DstIp.Should().Be(NetAddress.Parse("192.0.2.11"));
        back.DstMac.Should().Be(Vm3);
    }

    [Fact]
    public void TenantIsolation_UnpeeredNetwork_Dropped_InBothDirections()
    {
        using var bed = new SwitchTestBed();
        bed.From("vm6", TestFrames.Udp("10.3.0.6", 1, "10.1.0.1", 2, srcMac: Vm6)).Result.Reason.Should().Be(DropReason.NoRoute);
        bed.From("vm1", TestFrames.Udp("10.1.0.1", 1, "10.3.0.6", 2, srcMac: Vm1)).Result.Reason.Should().Be(DropReason.NoRoute);
        bed.From("vm5", TestFrames.Udp("10.2.0.5", 1, "10.1.0.1", 80, srcMac: Vm5)).Result.Verdict.Should().Be(ActionVerdict.Output, "red and blue are peered");
    }

    [Fact]
    public void C10_VirtualIp_DnatToStickyBackend_ReplyUnNated()
    {
        using var bed = new SwitchTestBed();
        var syn = bed.From("vm1", TestFrames.Tcp("10.1.0.1", 41000, "10.1.255.10", 80, syn: true, srcMac: Vm1));
        syn.Result.Verdict.Should().Be(ActionVerdict.Output);
        Parse(syn.Frame, out _, out var inner);
        var backend = inner.DstIp;
        backend.Should().BeOneOf(NetAddress.Parse("10.1.0.2"), NetAddress.Parse("10.1.0.3"));
        var again = bed.From("vm1", TestFrames.Tcp("10.1.0.1", 41000, "10.1.255.10", 80, syn: true, srcMac: Vm1)); // a SYN retransmission
        again.Result.Path.Should().Be(PacketPath.Fast);
        Parse(again.Frame, out _, out var inner2);
        inner2.DstIp.Should().Be(backend, "the backend is sticky for the connection");

        // Many connections spread over both backends.
        var chosen = new HashSet<NetAddress>();
        for (ushort p = 42000; p < 42040; p++)
        {
            Parse(bed.From("vm1", TestFrames.Tcp("10.1.0.1", p, "10.1.255.10", 80, syn: true, srcMac: Vm1)).Frame, out _, out var i);
            chosen.Add(i.DstIp);
        }
        chosen.Should().HaveCount(2);

        // A connection landing on the local backend vm2: its reply is un-NATed back to the VIP.
        ushort port = 43000;
        while (true)
        {
            Parse(bed.From("vm1", TestFrames.Tcp("10.1.0.1", port, "10.1.255.10", 80, syn: true, srcMac: Vm1)).Frame, out _, out var i);
            if (i.DstIp == NetAddress.Parse("10.1.0.2"))
                break;
            port++;
        }
        var synAck = bed.From("vm2", TestFrames.Tcp("10.1.0.2", 80, "10.1.0.1", port, syn: true, ack: true, srcMac: Vm2));
        synAck.Result.Path.Should().Be(PacketPath.Fast);
        Parse(synAck.Frame, out _, out var un);
        un.SrcIp.Should().Be(NetAddress.Parse("10.1.255.10"));
        un.SrcPort.Should().Be(80);
    }

    [Fact]
    public void C11_PublicDestination_SnatAndReplyTranslatedBack()
    {
        using var bed = new SwitchTestBed();
        var r = bed.From("vm1", TestFrames.Tcp("10.1.0.1", 44000, "198.51.100.7", 443, syn: true, srcMac: Vm1));
        bed.OutName(r.Result).Should().Be("uplink");
        Parse(r.Frame, out var p, out _);
        p.Tunnel.Should().Be(TunnelKind.None);
        p.SrcIp.Should().Be(NetAddress.Parse("203.0.113.5"));
        p.DstMac.Should().Be(Gateway, "public traffic goes to the gateway MAC on the uplink");
        ushort publicPort = p.SrcPort;
        publicPort.Should().BeInRange(1024, 65535);

        var answer = TestFrames.Tcp("198.51.100.7", 443, "203.0.113.5", publicPort, syn: true, ack: true, srcMac: Gateway, dstMac: HostA);
        bed.Switch.IngressPortOf(answer).Should().Be(bed.Port("uplink"), "a frame to an SNAT public address comes from the uplink");
        var back = bed.From("uplink", answer);
        back.Result.Path.Should().Be(PacketPath.Fast);
        bed.OutName(back.Result).Should().Be("vm1");
        Parse(back.Frame, out var q, out _);
        q.DstIp.Should().Be(NetAddress.Parse("10.1.0.1"));
        q.DstPort.Should().Be(44000);

        // A second connection gets another public port; unsolicited public traffic is dropped.
        Parse(bed.From("vm1", TestFrames.Tcp("10.1.0.1", 44001, "198.51.100.7", 443, syn: true, srcMac: Vm1)).Frame, out var p2, out _);
        p2.SrcPort.Should().NotBe(publicPort);
        bed.From("uplink", TestFrames.Tcp("198.51.100.7", 443, "203.0.113.5", 9, syn: true, srcMac: Gateway, dstMac: HostA))
            .Result.Reason.Should().Be(DropReason.Unsolicited);
    }

    [Fact]
    public void S2_Qos_TokenBucketDropsBeyondBurst()
    {
        using var bed = new SwitchTestBed();
        int delivered = 0, dropped = 0;
        for (int i = 0; i < 12; i++)
        {
            var r = bed.From("vm5", TestFrames.Udp("10.2.0.5", 6000, "10.1.0.1", 80, payload: 958, srcMac: Vm5));
            if (r.Result.Verdict == ActionVerdict.Output)
                delivered++;
            else if (r.Result.Reason == DropReason.Qos)
                dropped++;
        }
        delivered.Should().Be(4, "a 4 KiB burst holds four 1000-byte frames at one instant");
        dropped.Should().Be(8);
        bed.Time.Advance(TimeSpan.FromMilliseconds(10)); // 1 Mbit/s refills 1250 bytes in 10 ms
        bed.From("vm5", TestFrames.Udp("10.2.0.5", 6000, "10.1.0.1", 80, payload: 958, srcMac: Vm5)).Result.Verdict.Should().Be(ActionVerdict.Output);
        bed.Switch.Datapath.GetStats().DropsByReason[DropReason.Qos].Should().Be(8);
    }

    [Fact]
    public void A1_ArpAnsweredFromPolicy_PeerGatewayAndNothingForOtherTenants()
    {
        using var bed = new SwitchTestBed();
        var peer = bed.From("vm1", ArpRequest(Vm1, "10.1.0.1", "10.1.0.3"));
        peer.Result.IsResponse.Should().BeTrue();
        bed.OutName(peer.Result).Should().Be("vm1");
        PacketParser.Parse(peer.Frame, out var arp);
        arp.ArpOperation.Should().Be(2);
        arp.ArpSenderMac.Should().Be(Vm3, "a peer's MAC comes from the policy, even for a VM on another host");
        arp.ArpSenderIp.Should().Be(NetAddress.Parse("10.1.0.3"));
        MacAddress.Read(peer.Frame).Should().Be(Vm1);

        PacketParser.Parse(bed.From("vm1", ArpRequest(Vm1, "10.1.0.1", "198.51.100.1")).Frame, out var gw);
        gw.ArpSenderMac.Should().Be(Gateway, "off-network addresses resolve to the single gateway MAC");

        PacketParser.Parse(bed.From("vm1", ArpRequest(Vm1, "10.1.0.1", "10.1.255.254")).Frame, out var inSubnet);
        inSubnet.ArpSenderMac.Should().Be(Gateway, "the VM's in-subnet default gateway is the switch");
        bed.From("vm1", ArpRequest(Vm1, "10.1.0.1", "10.3.0.6")).Result.Verdict.Should().Be(ActionVerdict.Drop, "another tenant's address is not answered");
        bed.From("vm1", ArpRequest(Vm1, "10.1.0.1", "10.3.0.99")).Result.Verdict.Should().Be(ActionVerdict.Drop, "nor any address of a network it may not reach");
        bed.Switch.Backend.Count.Should().Be(0, "ARP is answered, never tracked or flooded");
    }

    [Fact]
    public void SpoofedSource_Dropped()
    {
        using var bed = new SwitchTestBed();
        bed.From("vm1", TestFrames.Udp("10.1.0.9", 1, "10.1.0.2", 80, srcMac: Vm1)).Result.Reason.Should().Be(DropReason.SpoofedSource);
    }

    [Fact]
    public void S4_PolicyChange_RevalidatesDeniesAffectedKeepsOthersAndTheirNat()
    {
        using var bed = new SwitchTestBed();
        bed.From("vm1", TestFrames.Tcp("10.1.0.1", 45000, "10.1.0.2", 80, syn: true, srcMac: Vm1));
        bed.From("vm2", TestFrames.Tcp("10.1.0.2", 80, "10.1.0.1", 45000, syn: true, ack: true, srcMac: Vm2));
        bed.From("vm1", TestFrames.Tcp("10.1.0.1", 45000, "10.1.0.2", 80, ack: true, srcMac: Vm1)).Result.State.Should().Be(ConnState.Established);
        Parse(bed.From("vm1", TestFrames.Udp("10.1.0.1", 46000, "198.51.100.7", 53, srcMac: Vm1)).Frame, out var snat, out _);

        const string extraRule = "\n    - { priority: 200, action: deny, direction: egress, network: blue, dst: 10.1.0.2/32, protocol: tcp, dstPorts: \"80\" }";
        var next = SwitchTestBed.PolicyYaml.Replace("dstPorts: \"22\" }", "dstPorts: \"22\" }" + extraRule);
        var result = bed.Switch.ApplyPolicy(SwitchTestBed.Load(next));

        result.Checked.Should().Be(2);
        result.Removed.Should().Be(1);
        var denied = bed.From("vm1", TestFrames.Tcp("10.1.0.1", 45000, "10.1.0.2", 80, ack: true, srcMac: Vm1));
        denied.Result.Verdict.Should().Be(ActionVerdict.Drop, "no packet of a now-denied connection is forwarded after revalidation");
        denied.Result.Reason.Should().Be(DropReason.Acl);
        var kept = bed.From("vm1", TestFrames.Udp("10.1.0.1", 46000, "198.51.100.7", 53, srcMac: Vm1));
        kept.Result.Path.Should().Be(PacketPath.Fast);
        Parse(kept.Frame, out var again, out _);
        again.SrcPort.Should().Be(snat.SrcPort, "an unaffected connection keeps its NAT binding");
    }

    [Fact]
    public void S4_PolicyChange_NewMacUpdatesFlowsInPlace()
    {
        using var bed = new SwitchTestBed();
        bed.From("vm1", TestFrames.Tcp("10.1.0.1", 47000, "10.1.0.2", 443, syn: true, srcMac: Vm1));
        var moved = SwitchTestBed.PolicyYaml.Replace("02:00:00:01:00:02", "02:00:00:01:00:22");
        var result = bed.Switch.ApplyPolicy(SwitchTestBed.Load(moved));
        result.Updated.Should().Be(1);
        var r = bed.From("vm1", TestFrames.Tcp("10.1.0.1", 47000, "10.1.0.2", 443, syn: true, srcMac: Vm1));
        r.Result.Path.Should().Be(PacketPath.Fast);
        MacAddress.Read(r.Frame).Should().Be(MacAddress.Parse("02:00:00:01:00:22"));
    }

    [Fact]
    public void LoadBalancer_ConnectionCountsFollowConntrack()
    {
        using var bed = new SwitchTestBed();
        for (ushort p = 50000; p < 50010; p++)
            bed.From("vm1", TestFrames.Tcp("10.1.0.1", p, "10.1.255.10", 80, syn: true, srcMac: Vm1));
        var vip = NetAddress.Parse("10.1.255.10");
        int total = bed.Switch.SlowPath.ActiveConnections(vip, 80, IpProtocol.Tcp, NetAddress.Parse("10.1.0.2"), 80)
                  + bed.Switch.SlowPath.ActiveConnections(vip, 80, IpProtocol.Tcp, NetAddress.Parse("10.1.0.3"), 80);
        total.Should().Be(10);
        bed.Time.Advance(TimeSpan.FromSeconds(121)); // SYN_SENT times out
        bed.Switch.Poll();
        (bed.Switch.SlowPath.ActiveConnections(vip, 80, IpProtocol.Tcp, NetAddress.Parse("10.1.0.2"), 80)
         + bed.Switch.SlowPath.ActiveConnections(vip, 80, IpProtocol.Tcp, NetAddress.Parse("10.1.0.3"), 80)).Should().Be(0);
    }

    [Fact]
    public void A1_NeighborSolicitation_AnsweredWithPeerMac()
    {
        var yaml = SwitchTestBed.PolicyYaml
            .Replace("cidr: 10.1.0.0/16, tunnel: vxlan }", "cidr: 10.1.0.0/16, cidr6: \"fd00:1::/64\", tunnel: vxlan }")
            .Replace("ip: 10.1.0.1, host: host-a }", "ip: 10.1.0.1, ipv6: \"fd00:1::1\", host: host-a }")
            .Replace("ip: 10.1.0.3, host: host-b }", "ip: 10.1.0.3, ipv6: \"fd00:1::3\", host: host-b }");
        using var bed = new SwitchTestBed(yaml);
        var src = NetAddress.Parse("fd00:1::1");
        var target = NetAddress.Parse("fd00:1::3");
        var solicitedNode = new NetAddress(0xFF02_0000_0000_0000UL, 0x0000_0001_FF00_0000UL | (target.Lo & 0xFF_FFFFUL));
        var icmp = new byte[24];
        icmp[0] = 135;
        target.WriteTo(icmp.AsSpan(8));
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(icmp.AsSpan(2), Offload.Tests.TestSupport.FrameBuilder.L4Checksum(src, solicitedNode, IpProtocol.IcmpV6, icmp));
        var ip = Offload.Tests.TestSupport.FrameBuilder.Ip(src, solicitedNode, IpProtocol.IcmpV6, icmp, 255);
        var frame = new byte[14 + ip.Length];
        new MacAddress(0x3333_0000_0000UL | (uint)solicitedNode.Lo).WriteTo(frame);
        Vm1.WriteTo(frame.AsSpan(6));
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), EtherType.IPv6);
        ip.CopyTo(frame.AsSpan(14));

        var r = bed.From("vm1", frame);
        r.Result.IsResponse.Should().BeTrue();
        bed.OutName(r.Result).Should().Be("vm1");
        PacketParser.Parse(r.Frame, out var na);
        na.IcmpType.Should().Be(136);
        na.SrcIp.Should().Be(target);
        MacAddress.Read(r.Frame.AsSpan(6)).Should().Be(Vm3, "the advertisement carries the peer's MAC from the policy");
        bed.Switch.Backend.Count.Should().Be(0);
    }

    [Theory]
    [InlineData("255.255.255.255")]
    [InlineData("224.0.0.251")]
    [InlineData("169.254.169.254")]
    [InlineData("127.0.0.1")]
    public void NonUnicastOrLinkLocalDestination_NeverSnatedToThePublicNetwork(string destination)
    {
        using var bed = new SwitchTestBed();
        var r = bed.From("vm1", TestFrames.Udp("10.1.0.1", 68, destination, 67, srcMac: Vm1));
        r.Result.Verdict.Should().Be(ActionVerdict.Drop);
        r.Result.Reason.Should().Be(DropReason.NoRoute);
    }
}
