using Offload.Kernel.Namespaces;
using Offload.Kernel.PacketIo;
using Offload.Kernel.Tests.Hosts;
using Offload.Kernel.Tests.Nftables;
using Offload.Packets;
using Offload.Switching;

namespace Offload.Kernel.Tests.PacketIo;

/// <summary>
/// Two hosts, each a namespace running its own switch (policy slow path) and packet pump: vm1 on host a, vm3 on host b,
/// each wired by veth to its host; the hosts joined by an underlay veth (<c>ul</c> on both sides, carrying the
/// policy's underlay MACs, MTU 9000 for the tunnel headers, no IP address so the hosts' own stacks leave tunnel
/// frames alone). Every frame between the VMs crosses the underlay as the switches encapsulated it.
/// </summary>
internal sealed class TwoHostPumpLab : IDisposable
{
    private static int s_counter;
    private readonly List<TestNode> _nodes = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Thread> _threads = [];
    private readonly List<Exception> _failures = [];

    public TwoHostPumpLab(string tunnel)
    {
        try
        {
            HostA = AddNode("a");
            HostB = AddNode("b");
            int aSide = HostA.Links.CreateVeth("ul", "ul-peer", HostB.Namespace);
            int bSide = HostB.Links.GetIndex("ul-peer");
            HostA.Links.SetMac(aSide, MacAddress.Parse("02:00:00:00:0a:01"));
            HostB.Links.SetMac(bSide, MacAddress.Parse("02:00:00:00:0b:01"));
            HostA.Links.SetMtu(aSide, 9000);
            HostB.Links.SetMtu(bSide, 9000);
            HostA.SetSysctl("net/ipv6/conf/ul/disable_ipv6", "1");
            HostB.SetSysctl("net/ipv6/conf/ul-peer/disable_ipv6", "1");
            HostA.Links.SetUp(aSide);
            HostB.Links.SetUp(bSide);
            LinkWait.UntilRunning(HostA.Links, "ul");
            LinkWait.UntilRunning(HostB.Links, "ul-peer");
            Vm1 = AddVm(HostA, "vm1", "02:00:00:01:00:01", "10.1.0.1");
            Vm3 = AddVm(HostB, "vm3", "02:00:00:01:00:03", "10.1.0.3");
            PumpA = new PacketPump();
            PumpB = new PacketPump();
            SwitchA = new VirtualSwitch(PolicyFixtures.Load(Policy("a", "b", tunnel)), PumpA.Sink);
            SwitchB = new VirtualSwitch(PolicyFixtures.Load(Policy("b", "a", tunnel)), PumpB.Sink);
            Attach(SwitchA, PumpA, HostA, "vm1", "ul");
            Attach(SwitchB, PumpB, HostB, "vm3", "ul-peer");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public TestNode HostA { get; }

    public TestNode HostB { get; }

    public TestNode Vm1 { get; }

    public TestNode Vm3 { get; }

    public PacketPump PumpA { get; }

    public PacketPump PumpB { get; }

    public VirtualSwitch SwitchA { get; }

    public VirtualSwitch SwitchB { get; }

    private static string Policy(string self, string other, string tunnel) => $$"""
        host: { name: {{self}}, underlay: { ip: 192.0.2.{{(self == "a" ? 10 : 11)}}, mac: "02:00:00:00:0{{self}}:01" }, gatewayMac: "02:00:00:00:ff:fe" }
        hosts:
          - { name: {{other}}, underlay: { ip: 192.0.2.{{(other == "a" ? 10 : 11)}}, mac: "02:00:00:00:0{{other}}:01" } }
        networks:
          - { name: blue, vni: 100, cidr: 10.1.0.0/16, tunnel: {{tunnel}} }
        ports:
          - { name: vm1, network: blue, mac: "02:00:00:01:00:01", ip: 10.1.0.1, host: a }
          - { name: vm3, network: blue, mac: "02:00:00:01:00:03", ip: 10.1.0.3, host: b }
        offload: { when: established, minPackets: 0 }
        """;

    private static void Attach(VirtualSwitch vswitch, PacketPump pump, TestNode host, string vm, string underlay)
    {
        vswitch.Ports.TryGet(vm, out ushort number).Should().BeTrue();
        pump.Attach(number, vm, "vm-" + vm, host.Namespace);
        pump.Attach(PortRegistry.Uplink, PortRegistry.UplinkName, underlay, host.Namespace);
    }

    /// <summary>Runs both pumps, each with its switch's housekeeping, on threads of their own until Dispose.</summary>
    public void Start()
    {
        foreach (var (pump, vswitch) in new[] { (PumpA, SwitchA), (PumpB, SwitchB) })
        {
            FrameBatchHandler handler = vswitch.Process;
            var thread = new Thread(() =>
            {
                try
                {
                    pump.Run(handler, _stop.Token, vswitch.Poll, TimeSpan.FromMilliseconds(10));
                }
                catch (Exception e)
                {
                    lock (_failures)
                        _failures.Add(e);
                }
            }) { IsBackground = true };
            thread.Start();
            _threads.Add(thread);
        }
    }

    public void StopPumps()
    {
        _stop.Cancel();
        foreach (var t in _threads)
            t.Join();
        _threads.Clear();
        if (_failures.Count > 0)
            throw new AggregateException("a pump failed", _failures);
    }

    private TestNode AddNode(string label)
    {
        var node = new TestNode(label, NetworkNamespace.Create($"{TestLab.Prefix}{Environment.ProcessId}-u{Interlocked.Increment(ref s_counter)}-{label}"));
        _nodes.Add(node);
        return node;
    }

    private TestNode AddVm(TestNode host, string label, string mac, string address)
    {
        TestNode vm = AddNode(label);
        string hostEnd = "vm-" + label;
        int hostSide = host.Links.CreateVeth(hostEnd, "eth0", vm.Namespace);
        host.SetSysctl($"net/ipv6/conf/{hostEnd}/disable_ipv6", "1");
        host.Links.SetUp(hostSide);
        int eth0 = vm.Links.GetIndex("eth0");
        vm.SetSysctl("net/ipv6/conf/eth0/disable_ipv6", "1");
        vm.Links.SetMac(eth0, MacAddress.Parse(mac));
        vm.Links.AddAddress(eth0, NetAddress.Parse(address), 16);
        VnicOffloads.DisableTransmitChecksum(vm.Namespace, "eth0");
        vm.Links.SetUp(eth0);
        LinkWait.UntilRunning(host.Links, hostEnd);
        LinkWait.UntilRunning(vm.Links, "eth0");
        vm.Address = NetAddress.Parse(address);
        vm.HostSideIndex = hostSide;
        return vm;
    }

    public void Dispose()
    {
        try
        {
            _stop.Cancel();
            foreach (var t in _threads)
                t.Join();
        }
        finally
        {
            PumpA?.Dispose();
            PumpB?.Dispose();
            SwitchA?.Dispose();
            SwitchB?.Dispose();
            for (int i = _nodes.Count - 1; i >= 0; i--)
                _nodes[i].Dispose();
            _stop.Dispose();
        }
    }
}
