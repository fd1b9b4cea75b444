using Offload.Kernel.SlowPath;
using Offload.Kernel.Tests.Hosts;
using Offload.Kernel.Tests.Netns;
using Offload.Kernel.Tests.Nftables;

namespace Offload.Kernel.Tests.EndToEnd;

/// <summary>
/// Two hosts each running a <see cref="KernelSwitch"/> over AF_PACKET pumps, real TCP between VM namespaces: the
/// first packet of a connection goes through the kernel (its ruleset counts it, the slow path injects it), later ones
/// do not (the rule counters and injections stay put while the fast path's frame count grows), the payload arrives intact.
/// </summary>
public sealed class KernelSwitchEndToEndTests
{
    private const int Bulk = 256 * 1024;

    /// <summary>What the two switches and their kernels had counted at one moment.</summary>
    private readonly record struct Snapshot(long RulesA, long RulesB, long InjectedA, long InjectedB, long FastA, long FastB);

    private static Snapshot Take(KernelTwoHostLab lab) => new(
        lab.KernelRulePackets(lab.HostA, lab.SwitchA), lab.KernelRulePackets(lab.HostB, lab.SwitchB),
        lab.SwitchA.SlowPath.Stats.Injected, lab.SwitchB.SlowPath.Stats.Injected,
        lab.SwitchA.Datapath.GetStats().FastPathFrames, lab.SwitchB.Datapath.GetStats().FastPathFrames);

    /// <summary>
    /// Connects <paramref name="client"/> to <paramref name="server"/>, checks the handshake went through the kernel
    /// of <paramref name="firstHost"/>, sends bulk data and checks none of it did, then closes and checks the digest.
    /// </summary>
    private static void TransferThroughKernelOnce(KernelTwoHostLab lab, string client, string server, bool firstOnA, bool crossesHosts,
        int port = 5201)
    {
        TestNode serverVm = lab.Vm(server);
        TransferThroughKernelOnce(lab, () => new PhasedTcp(serverVm, serverVm.Address, port, lab.Vm(client), serverVm.Address, port), firstOnA, crossesHosts);
    }

    private static int TransferThroughKernelOnce(KernelTwoHostLab lab, Func<PhasedTcp> open, bool firstOnA, bool crossesHosts,
        Action<PhasedTcp>? check = null)
    {
        Snapshot before = Take(lab);
        using PhasedTcp tcp = open();
        tcp.Send(1024);
        Snapshot connected = Take(lab);
        if (firstOnA)
        {
            connected.RulesA.Should().BeGreaterThan(before.RulesA, "the SYN met host a's ruleset");
            connected.InjectedA.Should().BeGreaterThan(before.InjectedA, "the SYN was injected into host a's kernel");
        }
        if (crossesHosts)
            connected.InjectedB.Should().BeGreaterThan(before.InjectedB, "the SYN, decapsulated, went through host b's kernel too");

        tcp.Send(Bulk);
        Snapshot bulk = Take(lab);
        bulk.FastA.Should().BeGreaterThan(connected.FastA + 50, "host a's fast path carried the bulk");
        if (crossesHosts)
            bulk.FastB.Should().BeGreaterThan(connected.FastB + 50, "host b's fast path carried the bulk");
        (bulk.RulesA, bulk.RulesB).Should().Be((connected.RulesA, connected.RulesB), "no later packet met a ruleset");
        (bulk.InjectedA, bulk.InjectedB).Should().Be((connected.InjectedA, connected.InjectedB), "no later packet was injected into a kernel");

        tcp.CloseAndVerify().Should().BeTrue("the SHA-256 of what the server read equals that of what the client sent");
        tcp.Received.Should().Be(Bulk + 1024);
        check?.Invoke(tcp);
        return tcp.AcceptedBy;
    }

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
    /// A connection attempt to a listening server that the policy denies: host a's kernel decides the first SYN (its
    /// ruleset counts it and the slow path drops it), the retransmitted SYNs meet the cached drop on the fast path.
    /// </summary>
    private static void DeniedOnce(KernelTwoHostLab lab, string client, string server, int port)
    {
        Snapshot before = Take(lab);
        long droppedBefore = lab.SwitchA.SlowPath.Stats.Dropped;
        long fastDropsBefore = lab.SwitchA.Datapath.GetStats().FastPathFrames;
        TestNode serverVm = lab.Vm(server);

        bool connected = PhasedTcp.TryConnect(serverVm, serverVm.Address, port, lab.Vm(client), TimeSpan.FromMilliseconds(3500));

        connected.Should().BeFalse("the policy denies it");
        Snapshot after = Take(lab);
        (after.InjectedA - before.InjectedA).Should().Be(1, "only the first SYN went into the kernel");
        after.RulesA.Should().BeGreaterThan(before.RulesA, "the kernel's ruleset met the first SYN");
        lab.SwitchA.SlowPath.Stats.Dropped.Should().Be(droppedBefore + 1, "the kernel dropped it");
        lab.SwitchA.Datapath.GetStats().FastPathFrames.Should().BeGreaterThan(fastDropsBefore, "the retransmitted SYNs met the drop flow");
    }

    [RootFact]
    public void AclDeny_TcpToPort22_FirstSynDroppedByKernelRetransmissionsByFastPath()
    {
        using var lab = new KernelTwoHostLab(Acl);
        lab.Start();

        DeniedOnce(lab, "vm1", "vm2", 22);
        TransferThroughKernelOnce(lab, "vm1", "vm2", firstOnA: true, crossesHosts: false, port: 23);

        lab.StopPumps();
    }

    [RootFact]
    public void SecurityGroup_InboundDeniedOutboundAndItsRepliesAllowed()
    {
        using var lab = new KernelTwoHostLab(WebGroup);
        lab.Start();

        DeniedOnce(lab, "vm1", "vm2", 5201);
        TransferThroughKernelOnce(lab, "vm2", "vm1", firstOnA: true, crossesHosts: false, port: 5202);
        TransferThroughKernelOnce(lab, "vm1", "vm2", firstOnA: true, crossesHosts: false, port: 8080);

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

        for (int i = 0; i < 8; i++)
        {
            int backend = TransferThroughKernelOnce(lab,
                () => new PhasedTcp(backends, 8080, lab.Vm("vm1"), Packets.NetAddress.Parse("10.1.255.10"), 80), firstOnA: true, crossesHosts: false);
            chosen.Add(backend);
        }

        lab.StopPumps();
        chosen.Should().OnlyContain(b => b >= 0);
        chosen.Distinct().Count().Should().BeGreaterThan(1, "Maglev spreads eight connections over more than one of three backends");
    }

    // Known intermittent failure, kept to be fixed: in about one clean CI run in three the connection is set up but the
    // first 1 KiB sent before the restart never reaches the server (15 s allowed). It passed in the other runs.
    [RootFact]
    public void Restart_NewSwitchRecoversFromKernel_LiveTcpConnectionKeepsWorkingOnFastPath()
    {
        using var lab = new KernelTwoHostLab();
        lab.Start();
        TestNode vm2 = lab.Vm("vm2");
        using var tcp = new PhasedTcp(vm2, vm2.Address, 5301, lab.Vm("vm1"), vm2.Address, 5301);
        try
        {
            tcp.Send(1024);
        }
        catch (Exception e)
        {
            File.WriteAllText($"/tmp/e2e/diag-{DateTime.UtcNow:HHmmss}-{Environment.ProcessId}.txt", e + "\n" + lab.Diagnose());
            throw;
        }

        int imported = lab.RestartHostA();
        Snapshot restarted = Take(lab);
        tcp.Send(Bulk);
        Snapshot bulk = Take(lab);

        imported.Should().BeGreaterThanOrEqualTo(1, "the live connection was in the kernel's conntrack");
        lab.SwitchA.Datapath.Conntrack.Count.Should().BeGreaterThanOrEqualTo(1);
        bulk.FastA.Should().BeGreaterThan(restarted.FastA + 50, "the new switch's fast path carried the bulk");
        (bulk.RulesA, bulk.InjectedA).Should().Be((restarted.RulesA, restarted.InjectedA), "nothing of the recovered connection went back to the kernel");
        tcp.CloseAndVerify().Should().BeTrue("the SHA-256 of what vm2 read equals that of what vm1 sent, across the restart");
        lab.StopPumps();
    }

    // Known failure, kept to be fixed rather than dropped: the SYN leaves SNAT'd and the public side answers (the
    // kernel's entry even reaches ESTABLISHED in one run), but the connection is never accepted: the datapath drops the
    // replies as conntrack-invalid, and once the slow path counted a mismatch. Not yet separated: whether the lab's
    // bridge (host a's stack also gets frames to the underlay MAC and forwards; a promiscuous bridge with other MACs
    // did not help) or the datapath/slow path handles the SNAT handshake under established-offload wrongly.
    [RootFact]
    public void Snat_Vm1ToPublicNamespace_SourceTranslatedThroughKernelOnceBulkOnFastPath()
    {
        using var lab = new KernelTwoHostLab("""
            snat:
              - { network: blue, publicIp: 203.0.113.5, ports: "1024-65535" }
            """, publicNetwork: true);
        lab.Start();
        TestNode pub = lab.Public!;

        try
        {
        TransferThroughKernelOnce(lab, () => new PhasedTcp(pub, pub.Address, 5401, lab.Vm("vm1"), pub.Address, 5401), firstOnA: true, crossesHosts: false,
            tcp => tcp.Peer!.Address.ToString().Should().Be("203.0.113.5", "the public side saw the SNAT address"));
        }
        catch (Exception e)
        {
            File.WriteAllText($"/tmp/e2e/snat-{DateTime.UtcNow:HHmmss}-{Environment.ProcessId}.txt", e + "\n" + lab.Diagnose());
            throw;
        }

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

        TransferThroughKernelOnce(lab, "vm1", "vm2", firstOnA: true, crossesHosts: false);

        lab.StopPumps();
    }

    [RootFact]
    public void CrossHostVxlan_TcpTransfer_HandshakeThroughBothKernelsBulkOnFastPathPayloadIntact()
    {
        using var lab = new KernelTwoHostLab();
        lab.Start();

        TransferThroughKernelOnce(lab, "vm1", "vm3", firstOnA: true, crossesHosts: true);

        lab.StopPumps();
        lab.PumpA.GetStatistics().Single(s => s.PortName == "uplink").SentBytes.Should().BeGreaterThan(Bulk, "the bulk left host a encapsulated");
    }

    [RootFact]
    public void CrossHostGre_TcpTransfer_HandshakeThroughBothKernelsBulkOnFastPathPayloadIntact()
    {
        using var lab = new KernelTwoHostLab();
        lab.Start();

        TransferThroughKernelOnce(lab, "vm4", "vm5", firstOnA: true, crossesHosts: true);

        lab.StopPumps();
        lab.PumpB.GetStatistics().Single(s => s.PortName == "uplink").ReceivedBytes.Should().BeGreaterThan(Bulk, "the bulk reached host b encapsulated");
    }
}
