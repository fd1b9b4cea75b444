using System.Net;
using System.Net.Sockets;
using Offload.Kernel.Nftables;
using Offload.Kernel.Tests.Netns;
using Offload.Packets;
using Offload.Policy;

namespace Offload.Kernel.Tests.Nftables;

/// <summary>The generated ruleset deciding real TCP traffic between VM namespaces routed by a host namespace.</summary>
public sealed class NftablesRulesetBehaviourTests
{
    private const string Policy = """
        host: { name: h, underlay: { ip: 192.0.2.10, mac: "02:00:00:00:0a:01" }, uplink: ofl-up }
        networks:
          - { name: blue, vni: 100, cidr: 10.1.0.0/16 }
          - { name: red, vni: 200, cidr: 10.2.0.0/16 }
        ports:
          - { name: vm1, network: blue, mac: "02:00:00:01:00:01", ip: 10.1.0.1, host: h, interface: ofl-vm1 }
          - { name: vm2, network: blue, mac: "02:00:00:01:00:02", ip: 10.1.0.2, host: h, interface: ofl-vm2 }
          - { name: vm3, network: red, mac: "02:00:00:02:00:03", ip: 10.2.0.3, host: h, interface: ofl-vm3 }
        acl:
          mode: deny-list
          rules:
            - { priority: 100, action: deny, direction: egress, network: blue, protocol: tcp, dstPorts: "22" }
            - { priority: 90, action: deny, direction: egress, dst: 10.1.255.10/32, protocol: tcp, dstPorts: "80", srcPorts: "46000-46010" }
        securityGroups:
          - { name: web, ports: [vm2], inbound: deny, allowInbound: [ { protocol: tcp, dstPorts: "80,8080,8081" } ] }
        loadBalancers:
          - { name: web, network: blue, vip: 10.1.255.10, port: 80, protocol: tcp, algorithm: maglev,
              backends: [ { ip: 10.1.0.2, port: 8080 }, { ip: 10.1.0.2, port: 8081 } ] }
        snat:
          - { network: blue, publicIp: 203.0.113.5, ports: "40000-40100" }
        """;

    private static long Packets(IReadOnlyDictionary<string, NftablesCounter> counters, string comment) =>
        counters.TryGetValue(comment, out NftablesCounter c) ? c.Packets : 0;

    [RootFact]
    public void GeneratedRuleset_RealTraffic_DeniesAllowsTranslatesAsThePolicySays()
    {
        PolicySnapshot policy = PolicyFixtures.Load(Policy);
        KernelTopology topology = KernelTopology.FromPolicy(policy);
        using var host = new RoutedHost();
        NetworkNamespace vm1 = host.Vm("ofl-vm1", "10.1.0.1");
        NetworkNamespace vm2 = host.Vm("ofl-vm2", "10.1.0.2");
        NetworkNamespace vm3 = host.Vm("ofl-vm3", "10.2.0.3");
        NetworkNamespace pub = host.Public("ofl-up", "203.0.113.5", "203.0.113.100");
        host.Apply(NftablesRulesetGenerator.Generate(policy, topology));
        string table = topology.TableName;

        // ACL: egress TCP 22 inside blue is denied, by rule acl:0, one SYN.
        using Socket ssh = RoutedHost.Listen(vm2, "10.1.0.2", 22);
        var before = host.Counters(table);
        RoutedHost.ConnectExpectingDrop(vm1, "10.1.0.2", 22).Should().BeNull();
        var after = host.Counters(table);
        (Packets(after, "acl:0") - Packets(before, "acl:0")).Should().Be(1);
        Packets(after, "sg:web:inbound").Should().Be(Packets(before, "sg:web:inbound"), "the ACL decided first");

        // Allowed: vm1 -> vm2:80 (the security group allows it), payload arrives; the connection lives on across a
        // re-apply of the ruleset (the table is replaced atomically, conntrack keeps the connection).
        using Socket web = RoutedHost.Listen(vm2, "10.1.0.2", 80);
        using (Socket? client = RoutedHost.Connect(vm1, "10.1.0.2", 80))
        {
            client.Should().NotBeNull();
            using Socket accepted = RoutedHost.Accept(web)!;
            accepted.ReceiveTimeout = 1000;
            ((IPEndPoint)accepted.RemoteEndPoint!).Address.Should().Be(IPAddress.Parse("10.1.0.1"));
            client!.Send("hello"u8);
            var buffer = new byte[5];
            accepted.Receive(buffer).Should().Be(5);
            buffer.Should().Equal("hello"u8.ToArray());
            host.Apply(NftablesRulesetGenerator.Generate(policy, topology));
            client.Send("again"u8);
            accepted.Receive(buffer).Should().Be(5);
            buffer.Should().Equal("again"u8.ToArray());
        }

        // Security group: unsolicited inbound to vm2:9999 is dropped by sg:web:inbound...
        using Socket closed = RoutedHost.Listen(vm2, "10.1.0.2", 9999);
        before = host.Counters(table);
        RoutedHost.ConnectExpectingDrop(vm1, "10.1.0.2", 9999).Should().BeNull();
        after = host.Counters(table);
        (Packets(after, "sg:web:inbound") - Packets(before, "sg:web:inbound")).Should().Be(1);
        // ... while vm2's own outbound connection and its replies go through.
        using Socket back = RoutedHost.Listen(vm1, "10.1.0.1", 9999);
        using (Socket? outbound = RoutedHost.Connect(vm2, "10.1.0.1", 9999))
        {
            outbound.Should().NotBeNull("replies to vm2's outbound connection pass its security group");
            RoutedHost.Accept(back).Should().NotBeNull();
        }

        // Isolation: blue and red are not peered.
        using Socket red = RoutedHost.Listen(vm3, "10.2.0.3", 80);
        before = host.Counters(table);
        RoutedHost.ConnectExpectingDrop(vm1, "10.2.0.3", 80).Should().BeNull();
        after = host.Counters(table);
        (Packets(after, "isolation:blue") - Packets(before, "isolation:blue")).Should().Be(1);

        // An unused address of the network does not leak out of the uplink (the host's default route).
        before = host.Counters(table);
        RoutedHost.ConnectExpectingDrop(vm1, "10.1.0.99", 80).Should().BeNull();
        after = host.Counters(table);
        (Packets(after, "unrouted:blue") - Packets(before, "unrouted:blue")).Should().Be(1);

        // VIP: a connection pinned by the adapter reaches the chosen backend; the reply is un-NATed.
        using Socket backendA = RoutedHost.Listen(vm2, "10.1.0.2", 8080);
        using Socket backendB = RoutedHost.Listen(vm2, "10.1.0.2", 8081);
        LoadBalancerConfig lb = policy.LoadBalancers[0];
        host.Apply(NftablesRulesetGenerator.PinBackendCommand(topology, lb, NetAddress.Parse("10.1.0.1"), 45000, lb.Backends[1], TimeSpan.FromSeconds(30)));
        before = host.Counters(table);
        using (Socket? viaVip = RoutedHost.Connect(vm1, "10.1.255.10", 80, localPort: 45000))
        {
            viaVip.Should().NotBeNull();
            ((IPEndPoint)viaVip!.RemoteEndPoint!).Should().Be(new IPEndPoint(IPAddress.Parse("10.1.255.10"), 80), "the reply comes back from the VIP");
            using Socket? onB = RoutedHost.Accept(backendB);
            onB.Should().NotBeNull("the pinned backend is 10.1.0.2:8081");
            string conntrack = host.Host.Exec("conntrack", "-L", "-p", "tcp", "--orig-port-src", "45000");
            conntrack.Should().Contain("dst=10.1.255.10").And.Contain("src=10.1.0.2 dst=10.1.0.1 sport=8081 dport=45000");
        }
        after = host.Counters(table);
        (Packets(after, "lb:web:pinned") - Packets(before, "lb:web:pinned")).Should().Be(1);
        // Without a pin the numgen fallback picks one of the two backends.
        using (Socket? unpinned = RoutedHost.Connect(vm1, "10.1.255.10", 80, localPort: 45001))
        {
            unpinned.Should().NotBeNull();
            Task<Socket> a = backendA.AcceptAsync(), b = backendB.AcceptAsync();
            Task.WaitAny([a, b], 1000).Should().BeGreaterThanOrEqualTo(0);
        }
        (Packets(host.Counters(table), "lb:web") - Packets(after, "lb:web")).Should().Be(1);

        // Egress ACL rules see the VIP the VM addressed, not the backend DNAT chose: acl:1 denies clients on ports
        // 46000-46010 the VIP, yet the same client port reaches the backend directly.
        before = host.Counters(table);
        RoutedHost.ConnectExpectingDrop(vm1, "10.1.255.10", 80, localPort: 46000).Should().BeNull();
        after = host.Counters(table);
        (Packets(after, "acl:1") - Packets(before, "acl:1")).Should().Be(1);
        using (Socket? direct = RoutedHost.Connect(vm1, "10.1.0.2", 8080, localPort: 46001))
            direct.Should().NotBeNull();
        Packets(host.Counters(table), "acl:1").Should().Be(Packets(after, "acl:1"));

        // SNAT: the public side sees the network's public address and a port from the range.
        using Socket internet = RoutedHost.Listen(pub, "203.0.113.100", 7000);
        using (Socket? outside = RoutedHost.Connect(vm1, "203.0.113.100", 7000))
        {
            outside.Should().NotBeNull();
            using Socket accepted = RoutedHost.Accept(internet)!;
            var remote = (IPEndPoint)accepted.RemoteEndPoint!;
            remote.Address.Should().Be(IPAddress.Parse("203.0.113.5"));
            remote.Port.Should().BeInRange(40000, 40100);
        }
        Packets(host.Counters(table), "snat:blue").Should().BeGreaterThan(0);
    }
}
