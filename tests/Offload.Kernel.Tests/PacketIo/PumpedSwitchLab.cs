using Offload.Datapath;
using Offload.Kernel.Namespaces;
using Offload.Kernel.PacketIo;
using Offload.Kernel.Tests.Hosts;
using Offload.Kernel.Tests.Nftables;
using Offload.Packets;
using Offload.Switching;
using StaleNames = Offload.Kernel.Tests.Netns.StaleNames;

namespace Offload.Kernel.Tests.PacketIo;

/// <summary>
/// A host namespace whose VMs (namespaces wired by veth: eth0 in the VM, <c>vm-&lt;name&gt;</c> in the host) are
/// switched by a <see cref="VirtualSwitch"/> with the policy slow path, fed by a <see cref="PacketPump"/> on its own
/// thread. The lab is IPv4 only. The host ends have no address, so the host's own stack stays out of the way; the VMs send
/// finished checksums. Deleted on Dispose.
/// </summary>
internal sealed class PumpedSwitchLab : IDisposable
{
    public const string Policy = """
        host: { name: h, underlay: { ip: 192.0.2.10, mac: "02:00:00:00:0a:01" }, gatewayMac: "02:00:00:00:ff:fe" }
        networks:
          - { name: blue, vni: 100, cidr: 10.1.0.0/16, tunnel: vxlan }
        ports:
          - { name: vm1, network: blue, mac: "02:00:00:01:00:01", ip: 10.1.0.1, host: h, interface: vm-vm1 }
          - { name: vm2, network: blue, mac: "02:00:00:01:00:02", ip: 10.1.0.2, host: h, interface: vm-vm2 }
        offload: { when: established, minPackets: 0 }
        """;

    private static int s_counter;
    private readonly List<TestNode> _nodes = [];
    private readonly PumpThreads _threads = new();

    public PumpedSwitchLab(PacketPumpOptions? options = null)
    {
        if (Interlocked.Increment(ref s_counter) == 1)
            StaleNames.Sweep(TestLab.Prefix);
        try
        {
            Host = AddNode("h");
            Vm1 = AddVm("vm1", "02:00:00:01:00:01", "10.1.0.1");
            Vm2 = AddVm("vm2", "02:00:00:01:00:02", "10.1.0.2");
            Pump = new PacketPump(options);
            Switch = new VirtualSwitch(PolicyFixtures.Load(Policy), Pump.Sink);
            foreach (string vm in new[] { "vm1", "vm2" })
            {
                Switch.Ports.TryGet(vm, out ushort number).Should().BeTrue();
                Pump.Attach(number, vm, "vm-" + vm, Host.Namespace);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public TestNode Host { get; }

    public TestNode Vm1 { get; }

    public TestNode Vm2 { get; }

    public PacketPump Pump { get; }

    public VirtualSwitch Switch { get; }

    /// <summary>Runs the pump (and the switch's housekeeping every 10 ms) on a thread until Dispose.</summary>
    public void Start() => _threads.Start(Pump, Switch.Process, Switch.Poll);

    /// <summary>Stops the pump thread; rethrows what ended it early.</summary>
    public void StopPump() => _threads.Stop();

    public DatapathStats Stats() => Switch.Datapath.GetStats();

    public PacketPumpPortStatistics PortStats(string port) => Pump.GetStatistics().Single(s => s.PortName == port);

    private TestNode AddNode(string label)
    {
        var node = new TestNode(label, NetworkNamespace.Create($"{TestLab.Prefix}{Environment.ProcessId}-p{Interlocked.Increment(ref s_counter)}-{label}"));
        _nodes.Add(node);
        return node;
    }

    private TestNode AddVm(string label, string mac, string address)
    {
        TestNode vm = AddNode(label);
        LabWiring.ConnectVm(Host, vm, mac, address);
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
            Pump?.Dispose();
            Switch?.Dispose();
            for (int i = _nodes.Count - 1; i >= 0; i--)
                _nodes[i].Dispose();
        }
    }
}
