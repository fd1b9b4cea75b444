using Offload.Kernel.Namespaces;
using Offload.Kernel.PacketIo;
using Offload.Kernel.Tests.Hosts;
using Offload.Kernel.Tests.Nftables;
using Offload.Packets;
using Offload.Switching;

namespace Offload.Kernel.Tests.PacketIo;

/// <summary>
/// Two hosts, each a namespace running its own switch (policy slow path) and packet pump: vm1 on host a, vm3 on host b,
/// each wired by veth to its host; the hosts joined by the underlay veth of <see cref="LabWiring.Underlay"/> (no IP
/// address, so the hosts' own stacks route no tunnel frame). Every frame between the VMs crosses the underlay as the
/// switches encapsulated it.
/// </summary>
internal sealed class TwoHostPumpLab : IDisposable
{
    private static int s_counter;
    private readonly List<TestNode> _nodes = [];
    private readonly PumpThreads _threads = new();

    public TwoHostPumpLab(string tunnel)
    {
        try
        {
            HostA = AddNode("a");
            HostB = AddNode("b");
            LabWiring.Underlay(HostA, HostB);
            Vm1 = AddVm(HostA, "vm1", "02:00:00:01:00:01", "10.1.0.1");
            Vm3 = AddVm(HostB, "vm3", "02:00:00:01:00:03", "10.1.0.3");
            PumpA = new PacketPump();
            PumpB = new PacketPump();
            SwitchA = new VirtualSwitch(PolicyFixtures.Load(Policy("a", "b", tunnel)), PumpA.Sink);
            SwitchB = new VirtualSwitch(PolicyFixtures.Load(Policy("b", "a", tunnel)), PumpB.Sink);
            Attach(SwitchA, PumpA, HostA, "vm1", LabWiring.UnderlayA);
            Attach(SwitchB, PumpB, HostB, "vm3", LabWiring.UnderlayB);
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
        _threads.Start(PumpA, SwitchA.Process, SwitchA.Poll);
        _threads.Start(PumpB, SwitchB.Process, SwitchB.Poll);
    }

    public void StopPumps() => _threads.Stop();

    private TestNode AddNode(string label)
    {
        var node = new TestNode(label, NetworkNamespace.Create($"{TestLab.Prefix}{Environment.ProcessId}-u{Interlocked.Increment(ref s_counter)}-{label}"));
        _nodes.Add(node);
        return node;
    }

    private TestNode AddVm(TestNode host, string label, string mac, string address)
    {
        TestNode vm = AddNode(label);
        LabWiring.ConnectVm(host, vm, mac, address);
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
