using Offload.Kernel.Devices;
using Offload.Kernel.Rtnetlink;
using Offload.Packets;
using RootFactAttribute = Offload.Kernel.Tests.Netns.RootFactAttribute;
using TestNamespace = Offload.Kernel.Tests.Netns.NetworkNamespace;

namespace Offload.Kernel.Tests.Devices;

public sealed class OwnedDevicesKernelTests
{
    private static List<string> Names(RtnetlinkClient client) => client.ListLinks().Select(l => l.Name).Order(StringComparer.Ordinal).ToList();

    [RootFact]
    public void Open_LeftoversOfCrashedRun_SweptOthersKept()
    {
        using TestNamespace ns = TestNamespace.Create();
        using RtnetlinkClient client = RtnetlinkClient.Open(ns.Namespace);
        client.CreateBridge("keep0");
        using (OwnedDevices other = OwnedDevices.Open("other", ns.Namespace))
        {
            other.CreateBridge("other0");
            OwnedDevices crashed = OwnedDevices.Open("agent", ns.Namespace);
            crashed.CreateBridge("br0");
            crashed.CreateVeth("v0", "v0p");
            // A crash: the process is gone without Dispose; only the socket closes.
            crashed.Client.Dispose();

            using OwnedDevices restarted = OwnedDevices.Open("agent", ns.Namespace);

            restarted.SweptAtOpen.Should().Be(2);
            Names(client).Should().Equal("keep0", "lo", "other0");
        }
        Names(client).Should().Equal("keep0", "lo");
    }

    [RootFact]
    public void Dispose_OwnedLinksIncludingVxlan_AllDeleted()
    {
        using TestNamespace ns = TestNamespace.Create();
        using RtnetlinkClient client = RtnetlinkClient.Open(ns.Namespace);
        using (OwnedDevices owned = OwnedDevices.Open("agent", ns.Namespace))
        {
            int bridge = owned.CreateBridge("br0");
            int veth = owned.CreateVeth("v0", "v0p");
            owned.Client.SetMaster(veth, bridge);
            owned.CreateVxlan("vx0", new VxlanOptions(100) { Local = NetAddress.Parse("192.0.2.1") });

            client.ListLinks().Where(l => l.Alias == "offload:agent").Select(l => l.Name).Should().BeEquivalentTo("br0", "v0", "vx0");
        }
        Names(client).Should().Equal("lo");
    }

    [RootFact]
    public void SweepWhere_StaleOwnersOnly_Deleted()
    {
        using TestNamespace ns = TestNamespace.Create();
        using RtnetlinkClient client = RtnetlinkClient.Open(ns.Namespace);
        client.SetAlias(client.CreateBridge("dead0"), "offload:test-999999999");
        client.SetAlias(client.CreateBridge("live0"), $"offload:test-{Environment.ProcessId}");
        client.SetAlias(client.CreateBridge("foreign0"), "not-ours");

        int deleted = OwnedDevices.SweepWhere(client, owner => owner != $"test-{Environment.ProcessId}");

        deleted.Should().Be(1);
        Names(client).Should().Equal("foreign0", "live0", "lo");
    }

    [RootFact]
    public void CreateTap_CarriesOwnerAlias()
    {
        using TestNamespace ns = TestNamespace.Create();
        using OwnedDevices owned = OwnedDevices.Open("agent", ns.Namespace);
        using TapDevice tap = owned.CreateTap("tap0");

        owned.Client.FindLink("tap0")!.Alias.Should().Be("offload:agent");
    }

    [RootFact]
    public void Open_TwoAgentsInOneProcess_EachInItsHostNamespace_SameNamesNoInterference()
    {
        using TestNamespace host1 = TestNamespace.Create();
        using TestNamespace host2 = TestNamespace.Create();
        OwnedDevices agent1 = OwnedDevices.Open("agent", host1.Namespace);
        using OwnedDevices agent2 = OwnedDevices.Open("agent", host2.Namespace);
        agent1.CreateBridge("br0");
        agent2.CreateBridge("br0");
        using TapDevice tap1 = agent1.CreateTap("tap0");
        using TapDevice tap2 = agent2.CreateTap("tap0");

        agent1.Dispose();

        using RtnetlinkClient view1 = RtnetlinkClient.Open(host1.Namespace);
        Names(view1).Should().Equal("lo");
        tap1.TryWrite(new byte[60]).Should().BeFalse("the owner's dispose removed its TAP too");
        Names(agent2.Client).Should().Equal("br0", "lo", "tap0");
        tap2.Describe().Alias.Should().Be("offload:agent");
    }
}
