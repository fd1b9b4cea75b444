using Offload.Kernel.Namespaces;
using Offload.Kernel.Rtnetlink;
using Offload.Packets;
using RootFactAttribute = Offload.Kernel.Tests.Netns.RootFactAttribute;

namespace Offload.Kernel.Tests.Hosts;

public sealed class TestLabKernelTests
{
    [RootFact]
    public void TwoHostsOneVmEach_PlainRouting_PingTcpAndUdpArriveIntact()
    {
        using var lab = new TestLab();
        TestNode h1 = lab.AddHost("h1");
        TestNode h2 = lab.AddHost("h2");
        lab.ConnectUnderlay(h1, "192.168.100.1/30", h2, "192.168.100.2/30");
        TestNode vm1 = lab.AddVm(h1, "vm1", "10.1.1.2/24", "10.1.1.1");
        TestNode vm2 = lab.AddVm(h2, "vm2", "10.1.2.2/24", "10.1.2.1");
        h1.AddRoute("10.1.2.0/24", NetAddress.Parse("192.168.100.2"));
        h2.AddRoute("10.1.1.0/24", NetAddress.Parse("192.168.100.1"));

        vm1.Ping(vm2.Address, count: 2).Should().BeTrue();
        TestTraffic.TcpResult tcp = TestTraffic.Tcp(vm2, vm2.Address, vm1, 1 << 20);
        int echoed = TestTraffic.UdpEcho(vm2, vm2.Address, vm1, count: 20);

        tcp.BytesReceived.Should().Be(1 << 20);
        tcp.Intact.Should().BeTrue();
        echoed.Should().Be(20);
        h1.Exec("sysctl", "-n", "net.ipv4.ip_forward").Trim().Should().Be("1", "the sysctl written from a thread inside the host is the host's");
        vm1.Exec("ip", "route", "show", "default").Should().Contain("via 10.1.1.1 dev eth0");
    }

    [RootFact]
    public void Ping_NoRouteBetweenHosts_Fails()
    {
        using var lab = new TestLab();
        TestNode h1 = lab.AddHost("h1");
        TestNode h2 = lab.AddHost("h2");
        lab.ConnectUnderlay(h1, "192.168.100.1/30", h2, "192.168.100.2/30");
        TestNode vm1 = lab.AddVm(h1, "vm1", "10.1.1.2/24", "10.1.1.1");
        TestNode vm2 = lab.AddVm(h2, "vm2", "10.1.2.2/24", "10.1.2.1");

        vm1.Ping(vm2.Address).Should().BeFalse("h1 has no route to 10.1.2.0/24");
        vm1.Ping(NetAddress.Parse("10.1.1.1")).Should().BeTrue("the VM's gateway answers");
    }

    [RootFact]
    public void Dispose_Lab_NamespacesAndTapsGone()
    {
        string[] names;
        using (var lab = new TestLab())
        {
            TestNode h1 = lab.AddHost("h1");
            lab.AddVm(h1, "vm1", "10.1.1.2/24", "10.1.1.1");
            lab.AddTap(h1, "tap-vm1");
            using RtnetlinkClient links = RtnetlinkClient.Open(h1.Namespace);
            links.FindLink("tap-vm1").Should().NotBeNull();
            names = lab.Nodes.Select(n => n.Name).ToArray();
        }

        NetworkNamespace.ListNamed().Should().NotIntersectWith(names);
    }

    [RootFact]
    public void SweepStale_NamespaceOfDeadProcess_DeletedLiveOnesKept()
    {
        // Above pid_max (at most 2^22), so never a running process.
        string dead = $"{TestLab.Prefix}999999999-1-h1";
        // The first lab of a process sweeps on its own; make the lab first so the leftover is there for SweepStale.
        using var lab = new TestLab();
        TestNode live = lab.AddHost("h1");
        NetworkNamespace.TryDelete(dead);
        // A killed run: the namespace was created and never deleted (only our descriptor goes).
        NetworkNamespace.Create(dead).Handle.Dispose();

        TestLab.SweepStale().Should().BeGreaterThanOrEqualTo(1);

        NetworkNamespace.ListNamed().Should().NotContain(dead).And.Contain(live.Name);
    }
}
