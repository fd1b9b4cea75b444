using Offload.Kernel.Namespaces;
using Offload.Kernel.Nftables;
using Offload.Kernel.PacketIo;
using Offload.Kernel.SlowPath;
using Offload.Kernel.Tests.Hosts;
using Offload.Kernel.Tests.Nftables;
using Offload.Kernel.Tests.PacketIo;
using Offload.Packets;
using Offload.Policy;
using Offload.Switching;

namespace Offload.Kernel.Tests.EndToEnd;

/// <summary>
/// Two hosts, each a namespace running a <see cref="KernelSwitch"/> (the kernel as slow path) fed by a
/// <see cref="PacketPump"/> on a thread of its own. Host a runs vm1, vm2 (network blue) and vm4 (red); host b runs vm3
/// and vm6 (blue) and vm5 (red); blue (VXLAN) and red (GRE) are peered. The VMs are namespaces wired by veth into their host;
/// the hosts are joined by an underlay veth (<c>ul</c> / <c>ul-peer</c>) carrying the policy's underlay MACs.
/// Offload waits for the handshake (<c>established</c>): the kernel must see the SYN-ACK too, else its conntrack entry
/// stays SYN_SENT and the FIN punted to it at the close is invalid there.
/// </summary>
internal sealed class KernelTwoHostLab : IDisposable
{
    public const string Owner = "e2e";
    private static int s_counter;
    private readonly List<TestNode> _nodes = [];
    private readonly Dictionary<string, (TestNode Host, TestNode Vm)> _vms = new(StringComparer.Ordinal);
    private readonly string _extra;
    private readonly bool _public;
    private readonly PumpThreads _threads = new();

    /// <param name="extra">More policy YAML (acl, securityGroups, loadBalancers, snat) appended to both hosts' policies.</param>
    /// <param name="publicNetwork">Host a gets an uplink: its underlay port becomes a bridge (<c>br-ul</c>) of the underlay
    /// veth and a veth to a "public" namespace (198.51.100.1/24, MAC the policy's gateway MAC); vm1 routes 198.51.100.0/24
    /// to the switch.</param>
    public KernelTwoHostLab(string extra = "", bool publicNetwork = false)
    {
        _extra = extra;
        _public = publicNetwork;
        try
        {
            HostA = AddNode("a");
            HostB = AddNode("b");
            int aSide = LabWiring.Underlay(HostA, HostB);
            AddVm(HostA, "vm1", "02:00:00:01:00:01", "10.1.0.1");
            AddVm(HostA, "vm2", "02:00:00:01:00:02", "10.1.0.2");
            AddVm(HostA, "vm4", "02:00:00:02:00:04", "10.2.0.4");
            AddVm(HostB, "vm3", "02:00:00:01:00:03", "10.1.0.3");
            AddVm(HostB, "vm5", "02:00:00:02:00:05", "10.2.0.5");
            AddVm(HostB, "vm6", "02:00:00:01:00:06", "10.1.0.6");
            string underlayA = LabWiring.UnderlayA;
            if (publicNetwork)
            {
                Public = AddNode("pub");
                int bridge = HostA.Links.CreateBridge("br-ul");
                // br_netfilter (on by default wherever the module is loaded) would run host a's conntrack and NAT on
                // frames crossing the bridge: the public side's replies would reach the pump already un-SNATed.
                foreach (string family in (string[])["iptables", "ip6tables", "arptables"])
                    HostA.SetSysctl("net/bridge/bridge-nf-call-" + family, "0");
                int pub0 = HostA.Links.CreateVeth("pub0", "eth0", Public.Namespace);
                HostA.SetSysctl("net/ipv6/conf/pub0/disable_ipv6", "1");
                HostA.SetSysctl("net/ipv6/conf/br-ul/disable_ipv6", "1");
                HostA.Links.SetMtu(pub0, 9000);
                HostA.Links.SetMaster(aSide, bridge);
                HostA.Links.SetMaster(pub0, bridge);
                HostA.Links.SetUp(pub0);
                HostA.Links.SetUp(bridge);
                int eth0 = Public.Links.GetIndex("eth0");
                Public.SetSysctl("net/ipv6/conf/eth0/disable_ipv6", "1");
                Public.Links.SetMac(eth0, MacAddress.Parse("02:00:00:00:ff:fe"));
                Public.Links.AddAddress(eth0, NetAddress.Parse("198.51.100.1"), 24);
                VnicOffloads.DisableTransmitChecksum(Public.Namespace, "eth0");
                Public.Links.SetUp(eth0);
                LinkWait.UntilRunning(HostA.Links, "br-ul");
                LinkWait.UntilRunning(Public.Links, "eth0");
                Public.Address = NetAddress.Parse("198.51.100.1");
                Public.Exec("ip", "route", "add", "203.0.113.5/32", "dev", "eth0");
                Public.Exec("ip", "neigh", "replace", "203.0.113.5", "lladdr", "02:00:00:00:0a:01", "dev", "eth0", "nud", "permanent");
                Vm("vm1").Exec("ip", "route", "add", "198.51.100.0/24", "dev", "eth0");
                Vm("vm1").Exec("ip", "neigh", "replace", "198.51.100.1", "lladdr", "02:00:00:00:ff:fe", "dev", "eth0", "nud", "permanent");
                underlayA = "br-ul";
            }
            PumpA = new PacketPump(next: TraceA);
            PumpB = new PacketPump(next: TraceB);
            SwitchA = NewSwitch(HostA, PumpA);
            SwitchB = NewSwitch(HostB, PumpB);
            KeepHostStackOff(HostA, underlayA);
            KeepHostStackOff(HostB, LabWiring.UnderlayB);
            AttachAll(SwitchA, PumpA, HostA, underlayA);
            AttachAll(SwitchB, PumpB, HostB, LabWiring.UnderlayB);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public TestNode HostA { get; }

    public TestNode HostB { get; }

    /// <summary>The "public" namespace (only with a public network).</summary>
    public TestNode? Public { get; }

    public PacketPump PumpA { get; }

    public PacketPump PumpB { get; }

    public KernelSwitch SwitchA { get; private set; }

    public KernelSwitch SwitchB { get; private set; }

    public TestNode Vm(string name) => _vms[name].Vm;

    /// <summary>Every result host a's switch reported.</summary>
    public FrameTrace TraceA { get; } = new("a");

    /// <summary>Every result host b's switch reported.</summary>
    public FrameTrace TraceB { get; } = new("b");

    /// <summary>
    /// Everything a failed test needs to tell where a packet went: both switches' counters, rule counters, traces and the
    /// kernels' conntrack. Read while the pumps may still run: the datapath's counters are then approximate.
    /// </summary>
    public string Diagnose()
    {
        var text = new System.Text.StringBuilder();
        foreach ((string name, TestNode host, KernelSwitch vswitch, PacketPump pump, FrameTrace trace) in
            new[] { ("a", HostA, SwitchA, PumpA, TraceA), ("b", HostB, SwitchB, PumpB, TraceB) })
        {
            var stats = vswitch.Datapath.GetStats();
            text.AppendLine($"== host {name}: datapath frames={stats.Frames} fast={stats.FastPathFrames} slow={stats.SlowPathFrames} fwd={stats.Forwarded} " +
                $"drops={string.Join(",", stats.DropsByReason.Select(d => $"{d.Key.Name()}:{d.Value}"))} installed={stats.FlowsInstalled} removed={stats.FlowsRemoved} " +
                $"held={stats.FramesHeld} conns={stats.Connections} flows={stats.Flows} pending={vswitch.Datapath.PendingDecisions}");
            text.AppendLine($"   slow path {vswitch.SlowPath.Stats}");
            try
            {
                text.AppendLine("   rules " + string.Join(", ", KernelRuleCounters(host, vswitch).Select(r => $"{r.Key}={r.Value}")));
            }
            catch (Exception e)
            {
                text.AppendLine("   rules: " + e.Message);
            }
            text.AppendLine($"   sync {vswitch.SyncStats}");
            foreach (var port in pump.GetStatistics())
                text.AppendLine($"   pump {port}");
            try
            {
                text.AppendLine("   conntrack:" + Environment.NewLine + host.Exec("conntrack", "-L"));
            }
            catch (Exception e)
            {
                text.AppendLine("   conntrack: " + e.Message);
            }
            text.AppendLine(trace.ToString());
        }
        return text.ToString();
    }

    /// <summary>The policy host <paramref name="self"/> runs.</summary>
    public PolicySnapshot PolicyOf(string self) => PolicyFixtures.Load(Policy(self, _extra, _public && self == "a"));

    public static string Policy(string self, string extra, bool withUplink)
    {
        string other = self == "a" ? "b" : "a";
        string uplink = withUplink ? ", uplink: pub" : "";
        return $$"""
            host: { name: {{self}}, underlay: { ip: 192.0.2.{{(self == "a" ? 10 : 11)}}, mac: "02:00:00:00:0{{self}}:01" }, gatewayMac: "02:00:00:00:ff:fe"{{uplink}} }
            hosts:
              - { name: {{other}}, underlay: { ip: 192.0.2.{{(other == "a" ? 10 : 11)}}, mac: "02:00:00:00:0{{other}}:01" } }
            networks:
              - { name: blue, vni: 100, cidr: 10.1.0.0/16, tunnel: vxlan }
              - { name: red,  vni: 200, cidr: 10.2.0.0/16, tunnel: gre }
            peerings: [ [blue, red] ]
            ports:
              - { name: vm1, network: blue, mac: "02:00:00:01:00:01", ip: 10.1.0.1, host: a }
              - { name: vm2, network: blue, mac: "02:00:00:01:00:02", ip: 10.1.0.2, host: a }
              - { name: vm4, network: red,  mac: "02:00:00:02:00:04", ip: 10.2.0.4, host: a }
              - { name: vm3, network: blue, mac: "02:00:00:01:00:03", ip: 10.1.0.3, host: b }
              - { name: vm5, network: red,  mac: "02:00:00:02:00:05", ip: 10.2.0.5, host: b }
              - { name: vm6, network: blue, mac: "02:00:00:01:00:06", ip: 10.1.0.6, host: b }
            offload: { when: established, minPackets: 0 }
            {{extra}}
            """;
    }

    /// <summary>
    /// The uplink is the pump's, as a NIC handed to the agent is: the host's own stack must not also take in what arrives
    /// on it, or its conntrack, NAT and forwarding act on frames the datapath handles (an SNAT reply addressed to the
    /// host's underlay MAC would be un-NATed and forwarded by the kernel behind the datapath's back, and counted by the
    /// ruleset). A netdev ingress hook that drops everything does that: packet sockets get their copy before it.
    /// </summary>
    private static void KeepHostStackOff(TestNode host, string uplink) => NetworkNamespace.RunIn(host.Namespace, () =>
    {
        using NftablesContext nft = NftablesContext.Create();
        nft.Run("add table netdev e2e_uplink\n" +
            $"add chain netdev e2e_uplink in {{ type filter hook ingress device \"{uplink}\" priority 0; policy drop; }}\n");
        return 0;
    });

    private KernelSwitch NewSwitch(TestNode host, PacketPump pump) =>
        new(PolicyOf(host.Label), Owner, host.Namespace, pump.Sink);

    private void AttachAll(KernelSwitch vswitch, PacketPump pump, TestNode host, string underlay)
    {
        foreach ((string name, (TestNode owner, TestNode _)) in _vms)
        {
            if (owner != host)
                continue;
            vswitch.Ports.TryGet(name, out ushort number).Should().BeTrue();
            pump.Attach(number, name, "vm-" + name, host.Namespace);
        }
        pump.Attach(PortRegistry.Uplink, PortRegistry.UplinkName, underlay, host.Namespace);
    }

    /// <summary>Runs both pumps, each with its switch's housekeeping, on threads of their own until <see cref="StopPumps"/>.</summary>
    public void Start()
    {
        _threads.Start(PumpA, SwitchA.Process, SwitchA.Poll);
        _threads.Start(PumpB, SwitchB.Process, SwitchB.Poll);
    }

    public void StopPumps() => _threads.Stop();

    /// <summary>
    /// An agent restart on host a: its pumps stopped, its switch disposed (devices and ruleset gone, the kernel's
    /// conntrack kept), a new one built, the fast path recovered from the kernel and the pumps started again.
    /// Returns how many connections were imported.
    /// </summary>
    public int RestartHostA()
    {
        StopPumps();
        SwitchA.Dispose();
        SwitchA = NewSwitch(HostA, PumpA);
        int imported = SwitchA.RecoverFromKernel();
        Start();
        return imported;
    }

    /// <summary>The packets each rule of host <paramref name="host"/>'s ruleset has counted, by the rule's comment.</summary>
    public Dictionary<string, long> KernelRuleCounters(TestNode host, KernelSwitch vswitch) => NetworkNamespace.RunIn(host.Namespace, () =>
    {
        using NftablesContext nft = NftablesContext.Create(json: true);
        var packets = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach ((string comment, NftablesCounter counter) in nft.ReadRuleCounters(NftablesRulesetGenerator.Family, vswitch.Topology.Topology.TableName))
            packets[comment] = counter.Packets;
        return packets;
    });

    /// <summary>The datapath port number of <paramref name="port"/> on <paramref name="vswitch"/>.</summary>
    public ushort Port(KernelSwitch vswitch, string port)
    {
        vswitch.Ports.TryGet(port, out ushort number).Should().BeTrue();
        return number;
    }

    private TestNode AddNode(string label)
    {
        var node = new TestNode(label, NetworkNamespace.Create($"{TestLab.Prefix}{Environment.ProcessId}-e{Interlocked.Increment(ref s_counter)}-{label}"));
        _nodes.Add(node);
        return node;
    }

    /// <summary>A namespace with <paramref name="address"/>/16 wired by veth to <paramref name="host"/>'s <c>vm-&lt;label&gt;</c>.</summary>
    public TestNode AddVm(TestNode host, string label, string mac, string address, int prefix = 16)
    {
        TestNode vm = AddNode(label);
        LabWiring.ConnectVm(host, vm, mac, address, prefix);
        _vms[label] = (host, vm);
        return vm;
    }

    public void Dispose()
    {
        try
        {
            _threads.Dispose();
        }
        finally
        {
            PumpA?.Dispose();
            PumpB?.Dispose();
            SwitchA?.Dispose();
            SwitchB?.Dispose();
            for (int i = _nodes.Count - 1; i >= 0; i--)
                _nodes[i].Dispose();
        }
    }
}
