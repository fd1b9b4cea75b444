using Offload.Kernel.SlowPath;
using Offload.Kernel.Tests.Nftables;
using Offload.Packets;
using Offload.Policy;

namespace Offload.Kernel.Tests.SlowPath;

public sealed class HostPlanTests
{
    private readonly PolicySnapshot _demo = PolicyFixtures.Demo();

    [Fact]
    public void Of_Demo_TapPerLocalPortPerNetworkAndUplink()
    {
        HostPlan plan = HostPlan.Of(_demo, "agent");

        plan.Topology.PortInterfaces.Keys.Should().BeEquivalentTo("vm1", "vm2", "vm4");
        plan.Topology.TunnelInterfaces.Keys.Should().BeEquivalentTo("blue", "red");
        plan.Topology.UplinkInterface.Should().Be(KernelInterfaceNames.Uplink("agent", "host-a"));
        plan.Devices.Should().HaveCount(6);
        plan.RouterMac.Should().Be(MacAddress.Parse("02:00:00:00:ff:fe"));
    }

    [Fact]
    public void Of_Demo_RemotePortsRoutedThroughTheirOwnNetworksTunnel()
    {
        HostPlan plan = HostPlan.Of(_demo, "agent");

        plan.Routes.Should().Contain(new HostRoute(KernelInterfaceNames.Tunnel("agent", "blue"), NetAddress.Parse("10.1.0.3"), MacAddress.Parse("02:00:00:01:00:03")));
        plan.Routes.Should().Contain(new HostRoute(KernelInterfaceNames.Tunnel("agent", "red"), NetAddress.Parse("10.2.0.5"), MacAddress.Parse("02:00:00:02:00:05")));
        plan.Routes.Should().Contain(new HostRoute(KernelInterfaceNames.Port("agent", "vm1"), NetAddress.Parse("10.1.0.1"), MacAddress.Parse("02:00:00:01:00:01")));
        plan.Routes.Should().HaveCount(5);
    }

    [Fact]
    public void Of_NoGatewayMacNoUplink_UnderlayMacAndNoUplinkDevice()
    {
        PolicySnapshot policy = _demo with { Host = _demo.Host with { GatewayMac = null, Uplink = null } };

        HostPlan plan = HostPlan.Of(policy, "agent");

        plan.RouterMac.Should().Be(MacAddress.Parse("02:00:00:00:0a:01"));
        plan.Topology.UplinkInterface.Should().BeNull();
        plan.Devices.Values.Should().NotContain(HostDeviceKind.Uplink);
    }
}
