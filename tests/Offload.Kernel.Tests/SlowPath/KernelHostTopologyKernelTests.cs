using Offload.Kernel.Conntrack;
using Offload.Kernel.Devices;
using Offload.Kernel.Nflog;
using Offload.Kernel.Nftables;
using Offload.Kernel.Rtnetlink;
using Offload.Kernel.SlowPath;
using Offload.Kernel.Tests.Netns;
using Offload.Kernel.Tests.Nftables;
using Offload.Packets;
using Offload.Policy;
using static Offload.Kernel.Tests.SlowPath.SlowPathFrames;

namespace Offload.Kernel.Tests.SlowPath;

/// <summary>The demo policy routed by the real kernel in a private namespace: first packets written into TAPs.</summary>
public sealed class KernelHostTopologyKernelTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Silence = TimeSpan.FromMilliseconds(300);
    private static readonly MacAddress Gateway = MacAddress.Parse("02:00:00:00:ff:fe");
    private static readonly MacAddress Vm1 = MacAddress.Parse("02:00:00:01:00:01");
    private static readonly MacAddress Vm2 = MacAddress.Parse("02:00:00:01:00:02");
    private static readonly MacAddress Vm3 = MacAddress.Parse("02:00:00:01:00:03");
    private readonly PolicySnapshot _demo = PolicyFixtures.Demo();
    private readonly Netns.NetworkNamespace _ns = Netns.NetworkNamespace.Create();
    private KernelHostTopology? _host;

    private KernelHostTopology Host => _host ??= KernelHostTopology.Build(_demo, _ns.Namespace, "slowpath-test");

    [RootFact]
    public void Build_SynBetweenLocalVms_ForwardedToVm2WithRouterMacTtlAndConntrackEntry()
    {
        Host.Ports["vm1"].TryWrite(Syn(Gateway, Vm1, "10.1.0.1", 40001, "10.1.0.2", 80)).Should().BeTrue();

        byte[]? output = ReadTcp(Host.Ports["vm2"], 40001, Wait);

        output.Should().NotBeNull("the kernel forwards vm1's SYN to vm2's emulated NIC");
        DstMac(output!).Should().Be(Vm2);
        SrcMac(output!).Should().Be(Gateway);
        Ttl(output!).Should().Be(63);
        (SrcIp(output!), DstIp(output!), DstPort(output!)).Should().Be((NetAddress.Parse("10.1.0.1"), NetAddress.Parse("10.1.0.2"), (ushort)80));
        KernelConntrackEntry? entry = Conntrack(new ConntrackTuple(NetAddress.Parse("10.1.0.1"), NetAddress.Parse("10.1.0.2"), IpProtocol.Tcp, 40001, 80));
        entry.Should().NotBeNull();
        entry!.Value.Reply.Source.Should().Be(NetAddress.Parse("10.1.0.2"));
    }

    [RootFact]
    public void Build_SynToVip_LeavesThroughBackendDnatedAndConntrackShowsNat()
    {
        LoadBalancerConfig lb = _demo.LoadBalancers[0];
        BackendConfig vm2 = lb.Backends.Single(b => b.Ip == NetAddress.Parse("10.1.0.2"));
        string pin = NftablesRulesetGenerator.PinBackendCommand(Host.Topology, lb, NetAddress.Parse("10.1.0.1"), 40002, vm2, TimeSpan.FromSeconds(30));
        _ns.Enter(() =>
        {
            using NftablesContext nft = NftablesContext.Create(json: true);
            return nft.Run(pin);
        });

        Host.Ports["vm1"].TryWrite(Syn(Gateway, Vm1, "10.1.0.1", 40002, "10.1.255.10", 80)).Should().BeTrue();

        byte[]? output = ReadTcp(Host.Ports["vm2"], 40002, Wait);
        output.Should().NotBeNull("the VIP is DNATed to the pinned backend vm2");
        DstIp(output!).Should().Be(NetAddress.Parse("10.1.0.2"));
        DstPort(output!).Should().Be(8080);
        DstMac(output!).Should().Be(Vm2);
        KernelConntrackEntry? entry = Conntrack(new ConntrackTuple(NetAddress.Parse("10.1.0.1"), NetAddress.Parse("10.1.255.10"), IpProtocol.Tcp, 40002, 80));
        entry.Should().NotBeNull();
        entry!.Value.Status.Should().HaveFlag(ConntrackStatus.DestinationNat);
        (entry.Value.Reply.Source, entry.Value.Reply.SourcePort).Should().Be((NetAddress.Parse("10.1.0.2"), (ushort)8080));
    }

    [RootFact]
    public void Build_AclDeniedSyn_LeavesNowhereAndNflogNamesTheRule()
    {
        KernelHostTopology host = Host;
        using NflogListener log = _ns.Enter(() => NflogListener.Open(host.Topology.LogGroup, Wait));

        host.Ports["vm1"].TryWrite(Syn(Gateway, Vm1, "10.1.0.1", 40003, "10.1.0.2", 22)).Should().BeTrue();

        var records = new List<NflogRecord>();
        long deadline = Environment.TickCount64 + 2000;
        while (records.Count == 0 && Environment.TickCount64 < deadline)
            log.Receive(records);
        records.Should().ContainSingle();
        records[0].Reason.Should().Be(DropReason.Acl);
        records[0].RuleId.Should().Be("0", "the demo's only ACL rule (no SSH inside blue) dropped it");
        ReadTcp(host.Ports["vm2"], 40003, Silence).Should().BeNull();
        ReadTcp(host.Tunnels["blue"], 40003, TimeSpan.Zero).Should().BeNull();
        ReadTcp(host.Uplink!, 40003, TimeSpan.Zero).Should().BeNull();
    }

    [RootFact]
    public void Build_SynToRemoteVm_LeavesThroughNetworkTunnelWithRemoteMac()
    {
        Host.Ports["vm1"].TryWrite(Syn(Gateway, Vm1, "10.1.0.1", 40004, "10.1.0.3", 80)).Should().BeTrue();

        byte[]? output = ReadTcp(Host.Tunnels["blue"], 40004, Wait);

        output.Should().NotBeNull("vm3 is on host-b, reached through blue's tunnel");
        DstMac(output!).Should().Be(Vm3);
        SrcMac(output!).Should().Be(Gateway);
        DstIp(output!).Should().Be(NetAddress.Parse("10.1.0.3"));
    }

    [RootFact]
    public void Build_SynToPublicAddress_LeavesThroughUplinkSnatedToPublicIp()
    {
        Host.Ports["vm1"].TryWrite(Syn(Gateway, Vm1, "10.1.0.1", 40005, "198.51.100.7", 443)).Should().BeTrue();

        byte[]? output = ReadAny(Host.Uplink!, 443);

        output.Should().NotBeNull("public traffic of blue is SNATed out of the uplink");
        SrcIp(output!).Should().Be(NetAddress.Parse("203.0.113.5"));
        DstIp(output!).Should().Be(NetAddress.Parse("198.51.100.7"));
        DstMac(output!).Should().Be(Gateway, "the uplink's next hop is the gateway neighbour");
        SrcMac(output!).Should().Be(_demo.Host.Underlay.Mac, "public frames leave from the host's own underlay MAC, as the policy slow path sends them");
        KernelConntrackEntry? entry = Conntrack(new ConntrackTuple(NetAddress.Parse("10.1.0.1"), NetAddress.Parse("198.51.100.7"), IpProtocol.Tcp, 40005, 443));
        entry.Should().NotBeNull();
        entry!.Value.Status.Should().HaveFlag(ConntrackStatus.SourceNat);
    }

    [RootFact]
    public void Apply_PortRemoved_DeletesItsTapAndRouteAndChangesRuleset_DisposeLeavesNoOwnedLink()
    {
        KernelHostTopology host = Host;
        string vm4Device = host.Topology.PortInterfaces["vm4"];
        string before = host.Ruleset;
        PolicySnapshot next = _demo with { Ports = _demo.Ports.RemoveAll(p => p.Name == "vm4"), Qos = [] };

        host.Apply(next);

        host.Ports.Should().NotContainKey("vm4");
        host.Topology.PortInterfaces.Should().NotContainKey("vm4");
        host.Ruleset.Should().NotBe(before).And.NotContain(vm4Device);
        using RtnetlinkClient rt = RtnetlinkClient.Open(_ns.Namespace);
        rt.FindLink(vm4Device).Should().BeNull();
        _ns.Exec("ip", "route", "show").Should().NotContain("10.2.0.4").And.Contain("10.1.0.2");
        _ns.Exec("nft", "list", "table", "inet", host.Topology.TableName).Should().NotContain(vm4Device);

        host.Dispose();

        rt.ListLinks().Where(l => l.Alias is { } a && a.StartsWith(OwnedDevices.AliasPrefix, StringComparison.Ordinal)).Should().BeEmpty();
        rt.ListLinks().Select(l => l.Name).Should().NotContain(n => n.StartsWith("of", StringComparison.Ordinal));
    }

    [RootFact]
    public void Apply_RemotePortMovesHere_RouteMovesFromTunnelToItsOwnTap()
    {
        KernelHostTopology host = Host;
        PolicySnapshot next = _demo with { Ports = [.. _demo.Ports.Select(p => p.Name == "vm3" ? p with { Host = "host-a" } : p)] };

        host.Apply(next);

        host.Ports.Should().ContainKey("vm3");
        _ns.Exec("ip", "route", "show", "10.1.0.3").Should().Contain("dev " + host.Ports["vm3"].Name);
        host.Ports["vm1"].TryWrite(Syn(Gateway, Vm1, "10.1.0.1", 40006, "10.1.0.3", 80)).Should().BeTrue();
        byte[]? output = ReadTcp(host.Ports["vm3"], 40006, Wait);
        output.Should().NotBeNull("vm3 is local now");
        DstMac(output!).Should().Be(Vm3);
        ReadTcp(host.Tunnels["blue"], 40006, TimeSpan.Zero).Should().BeNull();
    }

    [RootFact]
    public void Build_ReplyFromVm2_ReturnsToVm1AsEstablished()
    {
        Host.Ports["vm1"].TryWrite(Syn(Gateway, Vm1, "10.1.0.1", 40007, "10.1.0.2", 80)).Should().BeTrue();
        ReadTcp(Host.Ports["vm2"], 40007, Wait).Should().NotBeNull();
        byte[] synAck = Syn(Gateway, Vm2, "10.1.0.2", 80, "10.1.0.1", 40007);
        MakeSynAck(synAck);

        Host.Ports["vm2"].TryWrite(synAck).Should().BeTrue();

        byte[]? output = ReadTcp(Host.Ports["vm1"], 80, Wait);
        output.Should().NotBeNull("the reply of an admitted connection is forwarded back (ct state established)");
        DstMac(output!).Should().Be(Vm1);
        Conntrack(new ConntrackTuple(NetAddress.Parse("10.1.0.1"), NetAddress.Parse("10.1.0.2"), IpProtocol.Tcp, 40007, 80))!.Value
            .Status.Should().HaveFlag(ConntrackStatus.SeenReply);
    }

    [RootFact]
    public void Build_LeftoversOfCrashedOwner_AreSweptAndNamesAreDeterministic()
    {
        // What a crashed run leaves: a link carrying the owner's alias (a veth, since a TAP dies with its process).
        using RtnetlinkClient rt = RtnetlinkClient.Open(_ns.Namespace);
        int index = rt.CreateVeth("ofx-left", "ofx-peer");
        rt.SetAlias(index, OwnedDevices.AliasPrefix + "slowpath-test");

        Host.Topology.PortInterfaces["vm1"].Should().Be(KernelInterfaceNames.Port("slowpath-test", "vm1"));

        rt.FindLink("ofx-left").Should().BeNull("building swept the owner's leftover");
        Host.Topology.PortInterfaces.Values.Concat(Host.Topology.TunnelInterfaces.Values).Append(Host.Topology.UplinkInterface!)
            .Should().OnlyContain(n => n.Length <= KernelTopology.MaxInterfaceNameLength).And.OnlyHaveUniqueItems();
    }

    // SYN → SYN-ACK with ack = the SYN's seq + 1 (1001), and the TCP checksum adjusted for both changes.
    private static void MakeSynAck(byte[] frame)
    {
        frame[TcpOffset + 13] = 0x12;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(TcpOffset + 8), 1001);
        frame[TcpOffset + 16] = 0;
        frame[TcpOffset + 17] = 0;
        var pseudo = new byte[32];
        frame.AsSpan(IpOffset + 12, 8).CopyTo(pseudo);
        pseudo[9] = 6;
        pseudo[11] = 20;
        frame.AsSpan(TcpOffset, 20).CopyTo(pseudo.AsSpan(12));
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(TcpOffset + 16), PacketIo.TestFrames.Checksum(pseudo));
    }

    private KernelConntrackEntry? Conntrack(ConntrackTuple original) => _ns.Enter(() =>
    {
        using CtnetlinkClient ct = CtnetlinkClient.Open(TimeSpan.FromSeconds(1));
        return ct.TryGet(original, isReplyTuple: false);
    });

    private static byte[]? ReadAny(TapDevice tap, ushort dstPort)
    {
        long deadline = Environment.TickCount64 + (long)Wait.TotalMilliseconds;
        var buffer = new byte[2048];
        while (Environment.TickCount64 < deadline)
        {
            if (tap.TryRead(buffer, out int length) && length >= TcpOffset + 20 && buffer[12] == 0x08 && buffer[13] == 0
                && buffer[IpOffset + 9] == 6 && DstPort(buffer) == dstPort)
                return buffer[..length];
            Thread.Sleep(5);
        }
        return null;
    }

    public void Dispose()
    {
        _host?.Dispose();
        _ns.Dispose();
    }
}
