using System.Net;
using System.Net.Sockets;
using Offload.Datapath;
using Offload.Kernel.Nftables;
using Offload.Kernel.SlowPath;
using Offload.Kernel.Tests.Hosts;
using Offload.Kernel.Tests.Netns;
using Offload.Kernel.Tests.Nftables;
using Offload.Packets;
using Offload.Switching;

namespace Offload.Kernel.Tests.EndToEnd;

/// <summary>
/// Two hosts each running a <see cref="KernelSwitch"/> over AF_PACKET pumps, real traffic between VM namespaces: the
/// first packet of a connection goes through the kernel (one named rule of its ruleset counts it, exactly, and the slow
/// path injects it), later ones do not (no rule counter and no injection moves while the fast path's frame count grows),
/// the payload arrives intact. A failure carries both switches' counters, traces and the kernels' conntrack tables.
/// </summary>
public sealed class KernelSwitchEndToEndTests
{
    private const int Bulk = 256 * 1024;

    /// <summary>What the two switches and their kernels had counted at one moment; rules by their comment.</summary>
    private sealed record Snapshot(IReadOnlyDictionary<string, long> RulesA, IReadOnlyDictionary<string, long> RulesB,
        long InjectedA, long InjectedB, long FastA, long FastB)
    {
        public long Rule(string host, string comment) => (host == "a" ? RulesA : RulesB).GetValueOrDefault(comment);
    }

    /// <summary>
    /// The rule of host <paramref name="Host"/> (its comment) that a connection's first packet meets: exactly once when
    /// one SYN went into the kernel. Under load TCP may retransmit the SYN while the first is still in the kernel; the
    /// retransmission meets a filter rule again if the kernel gets it before the SYN-ACK (after that it is an
    /// established-state packet), so the count is then between 1 and the SYNs that went in. A NAT rule meets only the
    /// connection's first packet.
    /// </summary>
    private sealed record FirstPacketRule(string Host, string Comment, bool OncePerConnection = false);

    private static Snapshot Take(KernelTwoHostLab lab) => new(
        lab.KernelRuleCounters(lab.HostA, lab.SwitchA), lab.KernelRuleCounters(lab.HostB, lab.SwitchB),
        lab.SwitchA.SlowPath.Stats.Injected, lab.SwitchB.SlowPath.Stats.Injected,
        lab.SwitchA.Datapath.GetStats().FastPathFrames, lab.SwitchB.Datapath.GetStats().FastPathFrames);

    /// <summary>Runs <paramref name="test"/>; a failure is rethrown with the lab's state at that moment.</summary>
    private static void Diagnosed(KernelTwoHostLab lab, Action test)
    {
        try
        {
            test();
        }
        catch (Exception e)
        {
            throw new InvalidOperationException(e.Message + Environment.NewLine + lab.Diagnose(), e);
        }
    }

    private static void TransferThroughKernelOnce(KernelTwoHostLab lab, string client, string server, int port, params FirstPacketRule[] rules)
    {
        TestNode serverVm = lab.Vm(server);
        TransferThroughKernelOnce(lab, () => new PhasedTcp(serverVm, serverVm.Address, port, lab.Vm(client), serverVm.Address, port), rules);
    }

    /// <summary>
    /// Opens a connection, checks each of <paramref name="rules"/> counted its first packet exactly, sends bulk data and
    /// checks no rule of either ruleset and no injection moved while the fast paths carried it, then closes and checks the
    /// digest. Returns which server accepted.
    /// </summary>
    private static int TransferThroughKernelOnce(KernelTwoHostLab lab, Func<PhasedTcp> open, FirstPacketRule[] rules, Action<PhasedTcp>? check = null)
    {
        Snapshot before = Take(lab);
        using PhasedTcp tcp = open();
        tcp.Send(1024);
        Snapshot connected = Take(lab);
        foreach (FirstPacketRule rule in rules)
        {
            FrameTrace trace = rule.Host == "a" ? lab.TraceA : lab.TraceB;
            (int syns, int gaveUp) = trace.SynsThroughKernel(tcp.Local, tcp.Target);
            syns.Should().BeGreaterThanOrEqualTo(1, $"host {rule.Host}'s slow path decided the SYN");
            long grew = connected.Rule(rule.Host, rule.Comment) - before.Rule(rule.Host, rule.Comment);
            string because = $"rule '{rule.Comment}' of host {rule.Host} met the first packet ({syns} SYN(s) decided by the kernel, " +
                $"{gaveUp} given up on); rules now: {Show(connected, rule.Host)}";
            if (rule.OncePerConnection || syns + gaveUp == 1)
                grew.Should().Be(1, because);
            else
                grew.Should().BeInRange(1, syns + gaveUp, because);
        }
        (connected.InjectedA - before.InjectedA).Should().BeGreaterThan(0, "the handshake was injected into host a's kernel");

        tcp.Send(Bulk);
        Snapshot bulk = Take(lab);
        bulk.FastA.Should().BeGreaterThan(connected.FastA + 50, "host a's fast path carried the bulk");
        bulk.RulesA.Should().BeEquivalentTo(connected.RulesA, "no later packet met host a's ruleset");
        bulk.RulesB.Should().BeEquivalentTo(connected.RulesB, "no later packet met host b's ruleset");
        (bulk.InjectedA, bulk.InjectedB).Should().Be((connected.InjectedA, connected.InjectedB), "no later packet was injected into a kernel");

        tcp.CloseAndVerify().Should().BeTrue("the SHA-256 of what the server read equals that of what the client sent");
        tcp.Received.Should().Be(Bulk + 1024);
        check?.Invoke(tcp);
        return tcp.AcceptedBy;
    }

    private static string Show(Snapshot s, string host) =>
        string.Join(", ", (host == "a" ? s.RulesA : s.RulesB).Where(r => r.Value > 0).Select(r => $"{r.Key}={r.Value}"));

    private const string Acl = """
        acl:
          mode: deny-list
          rules:
            - { priority: 100, action: deny, direction: egress, network: blue, src: 10.1.0.0/16, dst: 10.1.0.0/16, protocol: tcp, dstPorts: "22" }
        """;

    private const string WebGroup = """
        securityGroups:
          - { name: web, ports: [vm2], inbound: deny, allowInbound: [ { protocol: tcp, dstPorts: "80,8080" }, { protocol: icmp } ] }
        """;

    /// <summary>
    /// A connection attempt to a listening server that the policy denies: host a's kernel decides the first SYN (rule
    /// <paramref name="denyingRule"/> counts it once and the slow path drops it), the retransmitted SYNs meet the cached
    /// drop on the fast path.
    /// </summary>
    private static void DeniedOnce(KernelTwoHostLab lab, string client, string server, int port, string denyingRule)
    {
        Snapshot before = Take(lab);
        long droppedBefore = lab.SwitchA.SlowPath.Stats.Dropped;
        long fastBefore = lab.SwitchA.Datapath.GetStats().FastPathFrames;
        TestNode serverVm = lab.Vm(server);

        // Long enough for TCP to retransmit the SYN at least once (after 1 s, then 3 s).
        bool connected = PhasedTcp.TryConnect(serverVm, serverVm.Address, port, lab.Vm(client), TimeSpan.FromMilliseconds(3500));

        connected.Should().BeFalse("the policy denies it");
        Snapshot after = Take(lab);
        (after.InjectedA - before.InjectedA).Should().Be(1, "only the first SYN went into the kernel");
        (after.Rule("a", denyingRule) - before.Rule("a", denyingRule)).Should().Be(1, $"rule '{denyingRule}' dropped the first SYN; rules now: {Show(after, "a")}");
        lab.SwitchA.SlowPath.Stats.Dropped.Should().Be(droppedBefore + 1, "the kernel dropped it");
        lab.SwitchA.Datapath.GetStats().FastPathFrames.Should().BeGreaterThan(fastBefore, "the retransmitted SYNs met the drop flow");
    }

    [RootFact]
    public void AclDeny_TcpToPort22_FirstSynDroppedByKernelRetransmissionsByFastPath()
    {
        using var lab = new KernelTwoHostLab(Acl);
        lab.Start();

        Diagnosed(lab, () =>
        {
            DeniedOnce(lab, "vm1", "vm2", 22, "acl:0");
            TransferThroughKernelOnce(lab, "vm1", "vm2", 23, new FirstPacketRule("a", "ingress:blue"));
        });

        lab.StopPumps();
    }

    [RootFact]
    public void SecurityGroup_InboundDeniedOutboundAndItsRepliesAllowed()
    {
        using var lab = new KernelTwoHostLab(WebGroup);
        lab.Start();

        Diagnosed(lab, () =>
        {
            DeniedOnce(lab, "vm1", "vm2", 5201, "sg:web:inbound");
            TransferThroughKernelOnce(lab, "vm2", "vm1", 5202, new FirstPacketRule("a", "ingress:blue"));
            TransferThroughKernelOnce(lab, "vm1", "vm2", 8080, new FirstPacketRule("a", "sg:web:allow:0"));
        });

        lab.StopPumps();
    }

    private const string Vip = """
        loadBalancers:
          - { name: web, network: blue, vip: 10.1.255.10, port: 80, protocol: tcp, algorithm: maglev,
              backends: [ { ip: 10.1.0.2, port: 8080 }, { ip: 10.1.0.3, port: 8080 }, { ip: 10.1.0.6, port: 8080 } ] }
        """;

    [RootFact]
    public void Vip_ThreeBackends_ConnectionsSpreadAndEachThroughKernelOnce()
    {
        using var lab = new KernelTwoHostLab(Vip);
        lab.Start();
        TestNode[] backends = [lab.Vm("vm2"), lab.Vm("vm3"), lab.Vm("vm6")];
        var chosen = new List<int>();

        Diagnosed(lab, () =>
        {
            for (int i = 0; i < 8; i++)
            {
                // The adapter pins the Maglev choice in the VIP's maps; the pinned DNAT rule meets each connection once.
                int backend = TransferThroughKernelOnce(lab, () => new PhasedTcp(backends, 8080, lab.Vm("vm1"), NetAddress.Parse("10.1.255.10"), 80),
                    [new FirstPacketRule("a", "lb:web:pinned", OncePerConnection: true)]);
                chosen.Add(backend);
            }
        });

        lab.StopPumps();
        chosen.Should().OnlyContain(b => b >= 0);
        chosen.Distinct().Count().Should().BeGreaterThan(1, "Maglev spreads eight connections over more than one of three backends");
    }

    [RootFact]
    public void Restart_NewSwitchRecoversFromKernel_LiveTcpConnectionKeepsWorkingOnFastPath()
    {
        using var lab = new KernelTwoHostLab();
        lab.Start();
        TestNode vm2 = lab.Vm("vm2");

        Diagnosed(lab, () =>
        {
            using var tcp = new PhasedTcp(vm2, vm2.Address, 5301, lab.Vm("vm1"), vm2.Address, 5301);
            tcp.Send(1024);

            int imported = lab.RestartHostA();
            Snapshot restarted = Take(lab);
            tcp.Send(Bulk);
            Snapshot bulk = Take(lab);

            imported.Should().BeGreaterThanOrEqualTo(1, "the live connection was in the kernel's conntrack");
            lab.SwitchA.Datapath.Conntrack.Count.Should().BeGreaterThanOrEqualTo(1);
            bulk.FastA.Should().BeGreaterThan(restarted.FastA + 50, "the new switch's fast path carried the bulk");
            restarted.RulesA.Values.Should().OnlyContain(packets => packets == 0, "the new ruleset has met nothing yet");
            bulk.RulesA.Should().BeEquivalentTo(restarted.RulesA, "nothing of the recovered connection went back to the kernel");
            bulk.InjectedA.Should().Be(restarted.InjectedA);
            tcp.CloseAndVerify().Should().BeTrue("the SHA-256 of what vm2 read equals that of what vm1 sent, across the restart");
        });
        lab.StopPumps();
    }

    [RootFact]
    public void Snat_Vm1ToPublicNamespace_SourceTranslatedThroughKernelOnceBulkOnFastPath()
    {
        using var lab = new KernelTwoHostLab("""
            snat:
              - { network: blue, publicIp: 203.0.113.5, ports: "1024-65535" }
            """, publicNetwork: true);
        lab.Start();
        TestNode pub = lab.Public!;

        Diagnosed(lab, () => TransferThroughKernelOnce(lab, () => new PhasedTcp(pub, pub.Address, 5401, lab.Vm("vm1"), pub.Address, 5401),
            [new FirstPacketRule("a", "snat:blue", OncePerConnection: true), new FirstPacketRule("a", "egress:blue")],
            tcp => tcp.Peer!.Address.ToString().Should().Be("203.0.113.5", "the public side saw the SNAT address")));

        lab.StopPumps();
    }

    /// <summary>
    /// UDP from vm1 (host a) to a closed port of vm3 (host b): the datagram goes through both kernels once, vm3 answers
    /// with ICMP port unreachable, and each switch classifies that error as related to the UDP connection (its tracked
    /// connection, not a new one): both kernels pass it as RELATED (their <c>ct:established</c> rule counts it, no
    /// new-connection rule does) and it reaches vm1's socket as ECONNREFUSED.
    /// </summary>
    [RootFact]
    public void IcmpError_UdpToClosedPortOnOtherHost_RelatedThroughBothKernelsSenderGetsConnectionRefused()
    {
        using var lab = new KernelTwoHostLab();
        lab.Start();
        TestNode vm1 = lab.Vm("vm1"), vm3 = lab.Vm("vm3");

        Diagnosed(lab, () =>
        {
            Snapshot before = Take(lab);
            using Socket udp = vm1.Run(() => new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp));
            udp.ReceiveTimeout = PhasedTcp.TimeoutMs;
            udp.Connect(new IPEndPoint(vm3.Address.ToIPAddress(), 5999));
            udp.Send("no one listens"u8);

            var receive = () => udp.Receive(new byte[64]);

            receive.Should().Throw<SocketException>().Which.SocketErrorCode.Should().Be(SocketError.ConnectionRefused,
                "the port unreachable reached the sender's socket");
            Snapshot after = Take(lab);
            (after.Rule("a", "egress:blue") - before.Rule("a", "egress:blue")).Should().Be(1, "the datagram met host a's egress rule once");
            (after.Rule("b", "rx:blue") - before.Rule("b", "rx:blue")).Should().Be(1, "and host b's tunnel receive rule once");
            foreach (string host in (string[])["a", "b"])
            {
                (after.Rule(host, NftablesRulesetGenerator.EstablishedComment) - before.Rule(host, NftablesRulesetGenerator.EstablishedComment))
                    .Should().Be(1, $"host {host}'s kernel passed the error as related to the connection");
                (after.Rule(host, "dispatch:in") - before.Rule(host, "dispatch:in")).Should().Be(1, $"only the datagram met host {host}'s new-connection rules");
            }
            var udpKey = (IPEndPoint)udp.LocalEndPoint!;
            foreach ((FrameTrace trace, ushort outPort) in new[] { (lab.TraceA, lab.Port(lab.SwitchA, "vm1")), (lab.TraceB, PortRegistry.Uplink) })
            {
                FrameResult error = trace.Where(r => r.Key.Protocol == IpProtocol.Icmp && r.Key.DstPort == 0x0303).Should().ContainSingle().Subject;
                (error.Path, error.Verdict, error.OutPort).Should().Be((PacketPath.Slow, Actions.ActionVerdict.Output, outPort), "the kernel decided it");
                error.Connection.IsNone.Should().BeFalse("it was classified as related to the UDP connection");
                FrameResult datagram = trace.Where(r => r.Key.Protocol == IpProtocol.Udp && r.Key.SrcPort == udpKey.Port).Should().ContainSingle().Subject;
                error.Connection.Should().Be(datagram.Connection, "the connection of the datagram it answers");
            }
        });

        lab.StopPumps();
    }

    [RootFact]
    public void ApplyPolicy_AclDeniesLiveConnection_RemovedFromDatapathAndKernel()
    {
        using var lab = new KernelTwoHostLab();
        lab.Start();
        TestNode vm2 = lab.Vm("vm2");
        using var tcp = new PhasedTcp(vm2, vm2.Address, 22, lab.Vm("vm1"), vm2.Address, 22);
        tcp.Send(1024);
        lab.StopPumps();
        lab.SwitchA.Datapath.Conntrack.Count.Should().Be(1);

        var result = lab.SwitchA.ApplyPolicy(PolicyFixtures.Load(KernelTwoHostLab.Policy("a", Acl, withUplink: false)));

        result.Removed.Should().Be(1, "the ACL now denies the live SSH connection");
        lab.SwitchA.Datapath.Conntrack.Count.Should().Be(0);
        string kernel = "";
        SpinWait.SpinUntil(() => !(kernel = lab.HostA.Exec("conntrack", "-L")).Contains("dport=22", StringComparison.Ordinal), 3000);
        kernel.Should().NotContain("dport=22", "the kernel's entry was deleted too");
    }

    [RootFact]
    public void SameHost_TcpTransfer_FirstPacketThroughKernelBulkOnFastPathPayloadIntact()
    {
        using var lab = new KernelTwoHostLab();
        lab.Start();

        Diagnosed(lab, () => TransferThroughKernelOnce(lab, "vm1", "vm2", 5201, new FirstPacketRule("a", "ingress:blue")));

        lab.StopPumps();
    }

    [RootFact]
    public void CrossHostVxlan_TcpTransfer_HandshakeThroughBothKernelsBulkOnFastPathPayloadIntact()
    {
        using var lab = new KernelTwoHostLab();
        lab.Start();

        Diagnosed(lab, () => TransferThroughKernelOnce(lab, "vm1", "vm3", 5201, new FirstPacketRule("a", "egress:blue"), new FirstPacketRule("b", "rx:blue")));

        lab.StopPumps();
        lab.PumpA.GetStatistics().Single(s => s.PortName == "uplink").SentBytes.Should().BeGreaterThan(Bulk, "the bulk left host a encapsulated");
    }

    [RootFact]
    public void CrossHostGre_TcpTransfer_HandshakeThroughBothKernelsBulkOnFastPathPayloadIntact()
    {
        using var lab = new KernelTwoHostLab();
        lab.Start();

        Diagnosed(lab, () => TransferThroughKernelOnce(lab, "vm4", "vm5", 5201, new FirstPacketRule("a", "egress:red"), new FirstPacketRule("b", "rx:red")));

        lab.StopPumps();
        lab.PumpB.GetStatistics().Single(s => s.PortName == "uplink").ReceivedBytes.Should().BeGreaterThan(Bulk, "the bulk reached host b encapsulated");
    }
}
