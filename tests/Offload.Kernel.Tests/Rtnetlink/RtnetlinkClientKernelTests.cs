using System.Text.Json;
using Offload.Kernel.Netlink;
using Offload.Kernel.Rtnetlink;
using Offload.Packets;
using RootFactAttribute = Offload.Kernel.Tests.Netns.RootFactAttribute;
using TestNamespace = Offload.Kernel.Tests.Netns.NetworkNamespace;

namespace Offload.Kernel.Tests.Rtnetlink;

/// <summary>Every change is made by our client and read back with iproute2 (<c>ip -j</c>), an independent view of the kernel.</summary>
public sealed class RtnetlinkClientKernelTests : IDisposable
{
    private readonly TestNamespace _ns = TestNamespace.Create();
    private readonly RtnetlinkClient _client;

    public RtnetlinkClientKernelTests()
    {
        _client = RtnetlinkClient.Open(_ns.Namespace);
    }

    public void Dispose()
    {
        _client.Dispose();
        _ns.Dispose();
    }

    private JsonElement IpLink(string name, TestNamespace? ns = null) =>
        JsonDocument.Parse((ns ?? _ns).Exec("ip", "-d", "-j", "link", "show", "dev", name)).RootElement[0];

    [RootFact]
    public void ListLinks_FreshNamespace_LoopbackOnlyWithKernelValues()
    {
        LinkInfo lo = _client.ListLinks().Should().ContainSingle().Subject;
        JsonElement ip = IpLink("lo");

        lo.Name.Should().Be("lo");
        lo.Index.Should().Be(ip.GetProperty("ifindex").GetInt32());
        lo.Mtu.Should().Be(ip.GetProperty("mtu").GetInt32());
        lo.IsUp.Should().BeTrue();
        lo.Kind.Should().BeNull();
    }

    [RootFact]
    public void CreateVeth_SameNamespace_BothEndsListedAsVeth()
    {
        int index = _client.CreateVeth("va", "vb");

        IReadOnlyList<LinkInfo> links = _client.ListLinks();
        links.Should().Contain(l => l.Name == "va" && l.Index == index && l.Kind == "veth");
        links.Should().Contain(l => l.Name == "vb" && l.Kind == "veth");
        IpLink("vb").GetProperty("link").GetString().Should().Be("va");
    }

    [RootFact]
    public void CreateVeth_PeerInOtherNamespace_PeerOnlyThere()
    {
        using TestNamespace other = TestNamespace.Create();
        _client.CreateVeth("host0", "eth0", other.Namespace);

        _client.FindLink("eth0").Should().BeNull();
        IpLink("eth0", other).GetProperty("linkinfo").GetProperty("info_kind").GetString().Should().Be("veth");
    }

    [RootFact]
    public void SetMtuMacUp_Veth_IpSeesThem()
    {
        int index = _client.CreateVeth("va", "vb");
        var mac = MacAddress.Parse("02:00:5e:10:20:30");

        _client.SetMtu(index, 1400);
        _client.SetMac(index, mac);
        _client.SetUp(index);

        JsonElement ip = IpLink("va");
        ip.GetProperty("mtu").GetInt32().Should().Be(1400);
        ip.GetProperty("address").GetString().Should().Be("02:00:5e:10:20:30");
        ip.GetProperty("flags").EnumerateArray().Select(f => f.GetString()).Should().Contain("UP");
        LinkInfo ours = _client.FindLink("va")!;
        (ours.Mtu, ours.Mac, ours.IsUp).Should().Be((1400, mac, true));

        _client.SetUp(index, up: false);
        _client.FindLink("va")!.IsUp.Should().BeFalse();
    }

    [RootFact]
    public void SetMaster_VethIntoBridge_EnslavedThenReleased()
    {
        int bridge = _client.CreateBridge("br0");
        int veth = _client.CreateVeth("va", "vb");

        _client.SetMaster(veth, bridge);

        IpLink("va").GetProperty("master").GetString().Should().Be("br0");
        _client.FindLink("va")!.MasterIndex.Should().Be(bridge);
        _client.FindLink("br0")!.Kind.Should().Be("bridge");

        _client.SetMaster(veth, 0);
        _client.FindLink("va")!.MasterIndex.Should().Be(0);
    }

    [RootFact]
    public void CreateVxlan_WithUnderlay_IpShowsParameters()
    {
        int underlay = _client.CreateVeth("ul0", "ul1");
        _client.CreateVxlan("vx0", new VxlanOptions(4242)
        {
            Local = NetAddress.Parse("192.0.2.1"),
            Remote = NetAddress.Parse("192.0.2.2"),
            UnderlayIndex = underlay,
        });

        JsonElement data = IpLink("vx0").GetProperty("linkinfo").GetProperty("info_data");
        data.GetProperty("id").GetInt32().Should().Be(4242);
        data.GetProperty("local").GetString().Should().Be("192.0.2.1");
        data.GetProperty("remote").GetString().Should().Be("192.0.2.2");
        data.GetProperty("port").GetInt32().Should().Be(4789);
        data.GetProperty("link").GetString().Should().Be("ul0");
        data.GetProperty("learning").GetBoolean().Should().BeFalse();
        _client.FindLink("vx0")!.Kind.Should().Be("vxlan");
    }

    [RootFact]
    public void CreateVxlan_V6Endpoints_IpShowsThem()
    {
        _client.CreateVxlan("vx6", new VxlanOptions(7) { Local = NetAddress.Parse("fd00::1"), Remote = NetAddress.Parse("fd00::2"), Port = 8472 });

        JsonElement data = IpLink("vx6").GetProperty("linkinfo").GetProperty("info_data");
        data.GetProperty("local6").GetString().Should().Be("fd00::1");
        data.GetProperty("remote6").GetString().Should().Be("fd00::2");
        data.GetProperty("port").GetInt32().Should().Be(8472);
    }

    [RootFact]
    public void SetAlias_Link_IpShowsIfalias()
    {
        int index = _client.CreateBridge("br0");
        _client.SetAlias(index, "offload:someone");

        IpLink("br0").GetProperty("ifalias").GetString().Should().Be("offload:someone");
        _client.FindLink("br0")!.Alias.Should().Be("offload:someone");
    }

    [RootFact]
    public void MoveToNamespace_Veth_LeavesThisOneArrivesThere()
    {
        using TestNamespace other = TestNamespace.Create();
        int index = _client.CreateVeth("va", "vb");

        _client.MoveToNamespace(index, other.Namespace);

        _client.FindLink("va").Should().BeNull();
        using RtnetlinkClient there = RtnetlinkClient.Open(other.Namespace);
        there.FindLink("va").Should().NotBeNull();
    }

    [RootFact]
    public void DeleteLink_VethEnd_BothEndsGone()
    {
        int index = _client.CreateVeth("va", "vb");
        _client.DeleteLink(index);
        _client.ListLinks().Select(l => l.Name).Should().Equal("lo");
    }

    [RootFact]
    public void AddDeleteAddress_V4AndV6_IpSeesThenNot()
    {
        int index = _client.CreateVeth("va", "vb");
        _client.SetUp(index);
        _client.AddAddress(index, NetAddress.Parse("10.20.0.1"), 24);
        _client.AddAddress(index, NetAddress.Parse("fd00:20::1"), 64);

        string shown = _ns.Exec("ip", "addr", "show", "dev", "va");
        shown.Should().Contain("inet 10.20.0.1/24").And.Contain("inet6 fd00:20::1/64");

        _client.DeleteAddress(index, NetAddress.Parse("10.20.0.1"), 24);
        _client.DeleteAddress(index, NetAddress.Parse("fd00:20::1"), 64);
        shown = _ns.Exec("ip", "addr", "show", "dev", "va");
        shown.Should().NotContain("10.20.0.1").And.NotContain("fd00:20::1");
    }

    [RootFact]
    public void AddDeleteRoute_HostRouteAndGatewayRoute_IpSeesThenNot()
    {
        int index = _client.CreateVeth("va", "vb");
        _client.SetUp(index);
        _client.SetUp(_client.GetIndex("vb"));
        _client.AddAddress(index, NetAddress.Parse("10.20.0.1"), 24);

        _client.AddRoute(NetAddress.Parse("10.99.0.7"), 32, index);
        _client.AddRoute(NetAddress.Parse("10.98.0.0"), 16, index, NetAddress.Parse("10.20.0.254"));
        _client.AddRoute(NetAddress.Parse("fd00:99::"), 64, index);

        string v4 = _ns.Exec("ip", "route", "show");
        v4.Should().Contain("10.99.0.7 dev va").And.Contain("10.98.0.0/16 via 10.20.0.254 dev va");
        _ns.Exec("ip", "-6", "route", "show").Should().Contain("fd00:99::/64 dev va");

        _client.DeleteRoute(NetAddress.Parse("10.99.0.7"), 32, index);
        _client.DeleteRoute(NetAddress.Parse("10.98.0.0"), 16, index, NetAddress.Parse("10.20.0.254"));
        _ns.Exec("ip", "route", "show").Should().NotContain("10.99.0.7").And.NotContain("10.98.0.0");
    }

    [RootFact]
    public void AddDeleteNeighbour_Permanent_IpSeesThenNot()
    {
        int index = _client.CreateVeth("va", "vb");
        _client.SetUp(index);
        _client.AddAddress(index, NetAddress.Parse("10.20.0.1"), 24);

        _client.AddNeighbour(index, NetAddress.Parse("10.20.0.9"), MacAddress.Parse("02:00:00:00:00:09"));

        _ns.Exec("ip", "neigh", "show", "dev", "va").Should().Contain("10.20.0.9 lladdr 02:00:00:00:00:09 PERMANENT");
        _client.DeleteNeighbour(index, NetAddress.Parse("10.20.0.9"));
        _ns.Exec("ip", "neigh", "show", "dev", "va").Should().NotContain("10.20.0.9");
    }

    [RootFact]
    public void CreateBridge_NameTaken_NetlinkExceptionWithEexistAndOperation()
    {
        _client.CreateBridge("br0");
        Action again = () => _client.CreateBridge("br0");

        NetlinkException e = again.Should().Throw<NetlinkException>().Which;
        e.Errno.Should().Be(17);
        e.Operation.Should().Be("create bridge br0");
    }

    [RootFact]
    public void DeleteLink_NoSuchIndex_NetlinkExceptionWithEnodev()
    {
        Action delete = () => _client.DeleteLink(99999);
        delete.Should().Throw<NetlinkException>().Where(e => e.Errno == 19 && e.Operation == "delete link 99999");
    }

    [RootFact]
    public void AddRoute_DeviceMissing_NetlinkExceptionNamesRoute()
    {
        Action add = () => _client.AddRoute(NetAddress.Parse("10.1.0.0"), 16, 99999);
        add.Should().Throw<NetlinkException>().Where(e => e.Errno == 19 && e.Operation.StartsWith("add route 10.1.0.0/16", StringComparison.Ordinal));
    }

    [RootFact]
    public void GetIndex_Unknown_NetlinkExceptionWithEnodev()
    {
        Action find = () => _client.GetIndex("nope0");
        find.Should().Throw<NetlinkException>().Where(e => e.Errno == 19);
    }
}
