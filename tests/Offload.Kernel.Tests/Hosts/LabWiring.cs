using Offload.Kernel.Tests.PacketIo;
using Offload.Packets;

namespace Offload.Kernel.Tests.Hosts;

/// <summary>
/// The wiring the pumped labs share (<see cref="PumpedSwitchLab"/>, <see cref="TwoHostPumpLab"/>,
/// <see cref="EndToEnd.KernelTwoHostLab"/>): VMs as namespaces on a veth to their host, hosts joined by an underlay veth.
/// IPv4 only — no router solicitations or MLD reports in the middle of a counted test.
/// </summary>
internal static class LabWiring
{
    /// <summary>Host a's end of the underlay.</summary>
    public const string UnderlayA = "ul";

    /// <summary>Host b's end of the underlay.</summary>
    public const string UnderlayB = "ul-peer";

    /// <summary>
    /// Joins <paramref name="a"/> and <paramref name="b"/> by a veth (<see cref="UnderlayA"/> / <see cref="UnderlayB"/>)
    /// carrying the lab policies' underlay MACs (02:00:00:00:0a:01 and 0b:01), MTU 9000 for the tunnel headers and no
    /// IP address. Returns host a's end's index.
    /// </summary>
    public static int Underlay(TestNode a, TestNode b)
    {
        int aSide = a.Links.CreateVeth(UnderlayA, UnderlayB, b.Namespace);
        int bSide = b.Links.GetIndex(UnderlayB);
        a.Links.SetMac(aSide, MacAddress.Parse("02:00:00:00:0a:01"));
        b.Links.SetMac(bSide, MacAddress.Parse("02:00:00:00:0b:01"));
        a.Links.SetMtu(aSide, 9000);
        b.Links.SetMtu(bSide, 9000);
        a.SetSysctl($"net/ipv6/conf/{UnderlayA}/disable_ipv6", "1");
        b.SetSysctl($"net/ipv6/conf/{UnderlayB}/disable_ipv6", "1");
        a.Links.SetUp(aSide);
        b.Links.SetUp(bSide);
        LinkWait.UntilRunning(a.Links, UnderlayA);
        LinkWait.UntilRunning(b.Links, UnderlayB);
        return aSide;
    }

    /// <summary>
    /// Wires <paramref name="vm"/> to <paramref name="host"/> by a veth: <c>eth0</c> in the VM with
    /// <paramref name="mac"/> and <paramref name="address"/>/<paramref name="prefix"/>, sending finished checksums (the
    /// pump sees frames as the VM hands them over); <c>vm-&lt;label&gt;</c> in the host, with no address, so the host's own
    /// stack stays out of the way.
    /// </summary>
    public static void ConnectVm(TestNode host, TestNode vm, string mac, string address, int prefix = 16)
    {
        string hostEnd = "vm-" + vm.Label;
        int hostSide = host.Links.CreateVeth(hostEnd, "eth0", vm.Namespace);
        host.SetSysctl($"net/ipv6/conf/{hostEnd}/disable_ipv6", "1");
        host.Links.SetUp(hostSide);
        int eth0 = vm.Links.GetIndex("eth0");
        vm.SetSysctl("net/ipv6/conf/eth0/disable_ipv6", "1");
        vm.Links.SetMac(eth0, MacAddress.Parse(mac));
        vm.Links.AddAddress(eth0, NetAddress.Parse(address), prefix);
        VnicOffloads.DisableTransmitChecksum(vm.Namespace, "eth0");
        vm.Links.SetUp(eth0);
        LinkWait.UntilRunning(host.Links, hostEnd);
        LinkWait.UntilRunning(vm.Links, "eth0");
        vm.Address = NetAddress.Parse(address);
        vm.HostSideIndex = hostSide;
    }
}
