using Offload.Kernel.Devices;
using Offload.Kernel.Namespaces;
using StaleNames = Offload.Kernel.Tests.Netns.StaleNames;
using Offload.Packets;

namespace Offload.Kernel.Tests.Hosts;

/// <summary>
/// Builds hosts and VMs as network namespaces (<c>offload-lab-&lt;pid&gt;-&lt;n&gt;-&lt;label&gt;</c>): a VM is wired to its
/// host by a veth (eth0 in the VM, <c>vm-&lt;label&gt;</c> in the host, the host end being the VM's gateway), hosts
/// by underlay veths. Everything is deleted on Dispose (deleting a namespace deletes its devices); namespaces of runs
/// that were killed are swept when the first lab of a process starts.
/// </summary>
public sealed class TestLab : IDisposable
{
    /// <summary>The name prefix of every lab namespace.</summary>
    public const string Prefix = "offload-lab-";
    private static int s_counter;
    private static int s_swept;
    private readonly List<TestNode> _nodes = [];
    private readonly List<TapDevice> _taps = [];

    /// <summary>Starts an empty lab (sweeping stale labs once per process).</summary>
    public TestLab()
    {
        if (Interlocked.Exchange(ref s_swept, 1) == 0)
            SweepStale();
    }

    /// <summary>Deletes lab namespaces of processes that no longer run; returns how many.</summary>
    public static int SweepStale() => StaleNames.Sweep(Prefix);

    /// <summary>Every node, in creation order.</summary>
    public IReadOnlyList<TestNode> Nodes => _nodes;

    /// <summary>Adds a host: a namespace with IPv4 forwarding on.</summary>
    public TestNode AddHost(string label)
    {
        TestNode host = AddNode(label);
        host.SetSysctl("net/ipv4/ip_forward", "1");
        return host;
    }

    /// <summary>
    /// Adds a VM on <paramref name="host"/>: eth0 with <paramref name="address"/> (CIDR) and a default route via
    /// <paramref name="gateway"/>, which is put on the host end of the veth.
    /// </summary>
    public TestNode AddVm(TestNode host, string label, string address, string gateway)
    {
        ArgumentNullException.ThrowIfNull(host);
        TestNode vm = AddNode(label);
        (NetAddress vmAddress, int prefix) = ParseCidr(address);
        NetAddress gatewayAddress = NetAddress.Parse(gateway);
        int hostSide = host.Links.CreateVeth(LinkName("vm-", label), "eth0", vm.Namespace);
        host.Links.AddAddress(hostSide, gatewayAddress, prefix);
        host.Links.SetUp(hostSide);
        int eth0 = vm.Links.GetIndex("eth0");
        vm.Links.AddAddress(eth0, vmAddress, prefix);
        vm.Links.SetUp(eth0);
        vm.Links.AddRoute(vmAddress.IsV4 ? NetAddress.FromV4(0) : NetAddress.Parse("::"), 0, eth0, gatewayAddress);
        LinkWait.UntilRunning(host.Links, LinkName("vm-", label));
        LinkWait.UntilRunning(vm.Links, "eth0");
        vm.Address = vmAddress;
        vm.HostSideIndex = hostSide;
        return vm;
    }

    /// <summary>Joins two hosts with an underlay veth (<c>ul-&lt;other label&gt;</c> on each side), addresses in CIDR form.</summary>
    public void ConnectUnderlay(TestNode a, string aAddress, TestNode b, string bAddress)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        (NetAddress aIp, int aPrefix) = ParseCidr(aAddress);
        (NetAddress bIp, int bPrefix) = ParseCidr(bAddress);
        int aSide = a.Links.CreateVeth(LinkName("ul-", b.Label), LinkName("ul-", a.Label), b.Namespace);
        int bSide = b.Links.GetIndex(LinkName("ul-", a.Label));
        a.Links.AddAddress(aSide, aIp, aPrefix);
        b.Links.AddAddress(bSide, bIp, bPrefix);
        a.Links.SetUp(aSide);
        b.Links.SetUp(bSide);
        LinkWait.UntilRunning(a.Links, LinkName("ul-", b.Label));
        LinkWait.UntilRunning(b.Links, LinkName("ul-", a.Label));
        if (a.Address.IsNone)
            a.Address = aIp;
        if (b.Address.IsNone)
            b.Address = bIp;
    }

    /// <summary>Creates a TAP device in a host (closed, hence removed, on Dispose).</summary>
    public TapDevice AddTap(TestNode host, string name)
    {
        ArgumentNullException.ThrowIfNull(host);
        TapDevice tap = TapDevice.Create(name, host.Namespace);
        _taps.Add(tap);
        return tap;
    }

    /// <summary>Closes TAPs and deletes every namespace.</summary>
    public void Dispose()
    {
        foreach (TapDevice tap in _taps)
            tap.Dispose();
        for (int i = _nodes.Count - 1; i >= 0; i--)
            _nodes[i].Dispose();
        _nodes.Clear();
    }

    /// <summary>Parses "10.1.1.2/24".</summary>
    public static (NetAddress Address, int Prefix) ParseCidr(string cidr)
    {
        int slash = cidr.IndexOf('/', StringComparison.Ordinal);
        return (NetAddress.Parse(cidr[..slash]), int.Parse(cidr.AsSpan(slash + 1), System.Globalization.CultureInfo.InvariantCulture));
    }

    private TestNode AddNode(string label)
    {
        string name = $"{Prefix}{Environment.ProcessId}-{Interlocked.Increment(ref s_counter)}-{label}";
        var node = new TestNode(label, NetworkNamespace.Create(name));
        _nodes.Add(node);
        return node;
    }

    private static string LinkName(string prefix, string label)
    {
        string name = prefix + label;
        return name.Length <= 15 ? name : name[..15];
    }
}
