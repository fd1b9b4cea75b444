using System.Collections.Immutable;
using Offload.Actions;
using Offload.Packets;
using Offload.Policy;
using static Offload.Tests.Policy.PolicyExamples;

namespace Offload.Tests.Policy;

public class PolicyValidatorTests
{
    private const string Vm3 = "{ name: vm3, network: blue, mac: \"02:00:00:01:00:03\", ip: 10.1.0.3, host: host-b }";

    private static string WithPort(string port) => SpecWith(Vm3, Vm3 + "\n  - " + port);

    // --- dangling references ---

    [Fact]
    public void Validate_PortOfUnknownNetwork_IsAnError() =>
        SingleError(WithPort("{ name: vm4, network: bleu, mac: \"02:00:00:01:00:04\", ip: 10.1.0.4 }"),
            "ports[2].network", "unknown network 'bleu'", "did you mean 'blue'?");

    [Fact]
    public void Validate_PortOfUnknownHost_IsAnError() =>
        SingleError(SpecWith("host: host-b }", "host: host-z }"), "ports[1].host", "unknown host 'host-z'");

    [Fact]
    public void Validate_PeeringOfUnknownNetwork_IsAnError() =>
        SingleError(SpecWith("[ [blue, red] ]", "[ [blue, green] ]"), "peerings[0][1]", "unknown network 'green'");

    [Fact]
    public void Validate_SecurityGroupOfUnknownPort_IsAnError() =>
        SingleError(SpecWith("ports: [vm1]", "ports: [vm1, vm7]"), "securityGroups[0].ports[1]", "unknown port 'vm7'");

    [Fact]
    public void Validate_LoadBalancerOfUnknownNetwork_IsAnError() =>
        SingleError(SpecWith("{ name: web, network: blue,", "{ name: web, network: purple,"), "loadBalancers[0].network",
            "unknown network 'purple'", "known: blue, red");

    [Fact]
    public void Validate_SnatOfUnknownNetwork_IsAnError() =>
        SingleError(SpecWith("{ network: blue, publicIp", "{ network: red2, publicIp"), "snat[0].network", "unknown network 'red2'");

    [Fact]
    public void Validate_QosOfUnknownPort_IsAnError() =>
        SingleError(SpecWith("{ port: vm1, rateMbps", "{ port: vm2, rateMbps"), "qos[0].port", "unknown port 'vm2'");

    [Fact]
    public void Validate_AclRuleOfUnknownNetwork_IsAnError() =>
        SingleError(SpecWith("direction: egress, network: blue,", "direction: egress, network: blu,"), "acl.rules[0].network", "unknown network 'blu'");

    // --- duplicates ---

    [Fact]
    public void Validate_DuplicateNetworkName_IsAnError() =>
        SingleError(SpecWith("{ name: red,  vni: 200", "{ name: blue,  vni: 200").Replace("peerings: [ [blue, red] ]", "peerings: []", StringComparison.Ordinal),
            "networks[1].name", "duplicate network name 'blue'", "networks[0]");

    [Fact]
    public void Validate_DuplicatePortName_IsAnError() =>
        SingleError(WithPort("{ name: vm1, network: blue, mac: \"02:00:00:01:00:04\", ip: 10.1.0.4 }"), "ports[2].name", "duplicate port name 'vm1'");

    [Fact]
    public void Validate_DuplicateHostName_IsAnError() =>
        SingleError(SpecWith("- { name: host-b, underlay", "- { name: host-a, underlay").Replace("host: host-b", "host: host-a", StringComparison.Ordinal),
            "hosts[0].name", "duplicate host name 'host-a'", "host.name");

    [Fact]
    public void Validate_DuplicateLoadBalancerName_IsAnError() =>
        SingleError(SpecWith("snat:", "  - { name: web, network: blue, vip: 10.1.255.11, port: 80, backends: [ { ip: 10.1.0.1 } ] }\nsnat:"),
            "loadBalancers[1].name", "duplicate load balancer name 'web'");

    [Fact]
    public void Validate_DuplicateSecurityGroupName_IsAnError() =>
        SingleError(SpecWith("loadBalancers:", "  - { name: web, ports: [vm3] }\nloadBalancers:"), "securityGroups[1].name", "duplicate security group name 'web'");

    [Fact]
    public void Validate_DuplicateVni_IsAnError() =>
        SingleError(SpecWith("vni: 200", "vni: 100"), "networks[1].vni", "duplicate VNI 100", "networks[0]");

    [Fact]
    public void Validate_VniOutOfRange_IsAnError()
    {
        SingleError(SpecWith("vni: 200", "vni: 16777216"), "networks[1].vni", "between 1 and 16777215");
        SingleError(SpecWith("vni: 200", "vni: 0"), "networks[1].vni", "between 1 and 16777215");
    }

    [Fact]
    public void Validate_OverlappingCidrs_IsAnError() =>
        SingleError(SpecWith("cidr: 10.2.0.0/16", "cidr: 10.0.0.0/8"), "networks[1].cidr", "10.0.0.0/8 overlaps networks[0].cidr 10.1.0.0/16 of network 'blue'");

    [Fact]
    public void Validate_CidrWithHostBits_IsAnError() =>
        SingleError(SpecWith("cidr: 10.2.0.0/16", "cidr: 10.2.0.1/16"), "networks[1].cidr", "host bits set", "did you mean 10.2.0.0/16");

    [Fact]
    public void Validate_PortIpOutsideItsNetwork_IsAnError() =>
        SingleError(SpecWith("ip: 10.1.0.3, host", "ip: 10.2.0.3, host"), "ports[1].ip", "10.2.0.3 is outside network 'blue' (10.1.0.0/16)");

    [Fact]
    public void Validate_DuplicatePortIp_IsAnError() =>
        SingleError(WithPort("{ name: vm4, network: blue, mac: \"02:00:00:01:00:04\", ip: 10.1.0.3 }"), "ports[2].ip", "duplicate IP 10.1.0.3", "ports[1].ip");

    [Fact]
    public void Validate_DuplicatePortMac_IsAnError() =>
        SingleError(WithPort("{ name: vm4, network: blue, mac: \"02:00:00:01:00:01\", ip: 10.1.0.4 }"), "ports[2].mac", "duplicate MAC 02:00:00:01:00:01", "ports[0].mac");

    [Fact]
    public void Validate_PortMacEqualsUnderlayOrGatewayMac_IsAnError()
    {
        SingleError(SpecWith("mac: \"02:00:00:01:00:03\"", "mac: \"02:00:00:00:0b:01\""), "ports[1].mac", "duplicate MAC", "hosts[0].underlay.mac");
        SingleError(SpecWith("mac: \"02:00:00:01:00:03\"", "mac: \"02:00:00:00:ff:fe\""), "ports[1].mac", "duplicate MAC", "host.gatewayMac");
    }

    [Fact]
    public void Validate_DuplicateUnderlayIp_IsAnError() =>
        SingleError(SpecWith("ip: 192.0.2.11", "ip: 192.0.2.10"), "hosts[0].underlay.ip", "duplicate underlay IP 192.0.2.10", "host.underlay.ip");

    [Fact]
    public void Validate_MulticastMac_IsAnError() =>
        SingleError(SpecWith("mac: \"02:00:00:01:00:03\"", "mac: \"03:00:00:01:00:03\""), "ports[1].mac", "multicast");

    // --- load balancers ---

    [Fact]
    public void Validate_VipInBackendList_IsAnError() =>
        SingleError(SpecWith("{ ip: 10.1.0.3, port: 8080 }", "{ ip: 10.1.255.10, port: 8080 }"), "loadBalancers[0].backends[1].ip", "VIP");

    [Fact]
    public void Validate_VipEqualToPortIp_IsAnError() =>
        SingleError(WithPort("{ name: vm4, network: blue, mac: \"02:00:00:01:00:04\", ip: 10.1.255.10 }"), "loadBalancers[0].vip", "address of port 'vm4'");

    [Fact]
    public void Validate_VipOutsideItsNetwork_IsAnError() =>
        SingleError(SpecWith("vip: 10.1.255.10", "vip: 10.2.255.10"), "loadBalancers[0].vip", "outside network 'blue'");

    [Fact]
    public void Validate_VipPortProtocolCollision_IsAnError() =>
        SingleError(SpecWith("snat:", "  - { name: web2, network: blue, vip: 10.1.255.10, port: 80, backends: [ { ip: 10.1.0.1 } ] }\nsnat:"),
            "loadBalancers[1].vip", "10.1.255.10:80/tcp is already served by loadBalancers[0]");

    [Fact]
    public void Validate_SameVipOtherPort_IsFine() =>
        PolicyLoader.Load(SpecWith("snat:", "  - { name: dns, network: blue, vip: 10.1.255.10, port: 53, protocol: udp, backends: [ { ip: 10.1.0.1 } ] }\nsnat:"))
            .Errors.Should().BeEmpty();

    [Fact]
    public void Validate_BackendOutsideNetworkAndPeers_IsAnError() =>
        SingleError(SpecWith("{ ip: 10.1.0.3, port: 8080 }", "{ ip: 10.9.0.3, port: 8080 }"), "loadBalancers[0].backends[1].ip",
            "neither in network 'blue' (10.1.0.0/16) nor in a network peered with it");

    [Fact]
    public void Validate_BackendInPeeredNetwork_IsFine()
    {
        PolicyLoader.Load(SpecWith("{ ip: 10.1.0.3, port: 8080 }", "{ ip: 10.2.0.3, port: 8080 }")).Errors.Should().BeEmpty();
        SingleError(SpecWith("{ ip: 10.1.0.3, port: 8080 }", "{ ip: 10.2.0.3, port: 8080 }").Replace("peerings: [ [blue, red] ]", "peerings: []", StringComparison.Ordinal),
            "loadBalancers[0].backends[1].ip", "nor in a network peered");
    }

    [Fact]
    public void Validate_EmptyBackends_IsAnError() =>
        SingleError(SpecWith("backends: [ { ip: 10.1.0.1, port: 8080 }, { ip: 10.1.0.3, port: 8080 } ]", "backends: []"),
            "loadBalancers[0].backends", "at least one backend");

    [Fact]
    public void Validate_DuplicateBackend_IsAnError() =>
        SingleError(SpecWith("{ ip: 10.1.0.3, port: 8080 }", "{ ip: 10.1.0.1, port: 8080 }"), "loadBalancers[0].backends[1]", "duplicate backend 10.1.0.1:8080");

    [Fact]
    public void Validate_LoadBalancerPortOutOfRange_IsAnError() =>
        SingleError(SpecWith("port: 80,", "port: 70000,"), "loadBalancers[0].port", "between 1 and 65535");

    [Fact]
    public void Validate_LoadBalancerProtocolAny_IsAnError() =>
        SingleError(SpecWith("port: 80, protocol: tcp", "port: 80, protocol: any"), "loadBalancers[0].protocol", "must be tcp or udp");

    // --- port lists and ACL ---

    [Theory]
    [InlineData("\"70000\"", "port 70000 is out of range")]
    [InlineData("\"20-10\"", "inverted")]
    [InlineData("\"\"", "empty")]
    [InlineData("\"80,,443\"", "empty item")]
    [InlineData("\"http\"", "'http' is not a port number")]
    public void Validate_BadPortList_IsAnError(string ports, string message) =>
        SingleError(SpecWith("dstPorts: \"22\"", "dstPorts: " + ports), "acl.rules[0].dstPorts", message);

    [Fact]
    public void Validate_PortsWithoutTcpOrUdp_IsAnError() =>
        SingleError(SpecWith("protocol: tcp, dstPorts: \"22\"", "protocol: icmp, dstPorts: \"22\""), "acl.rules[0].dstPorts", "need protocol tcp or udp");

    [Fact]
    public void Validate_NegativePriority_IsAnError() =>
        SingleError(SpecWith("priority: 100", "priority: -1"), "acl.rules[0].priority", "must be 0 or more");

    private const string SecondRule = "\n    - { priority: 100, action: allow, direction: both, protocol: tcp, dstPorts: \"20-25\" }";

    [Fact]
    public void Validate_SamePriorityOppositeActionOverlappingTraffic_IsAnError() =>
        SingleError(SpecWith("dstPorts: \"22\" }", "dstPorts: \"22\" }" + SecondRule), "acl.rules[1].priority", "acl.rules[0]", "opposite action");

    [Fact]
    public void Validate_SamePriorityOppositeActionDisjointTraffic_IsFine()
    {
        PolicyLoader.Load(SpecWith("dstPorts: \"22\" }", "dstPorts: \"22\" }" + SecondRule.Replace("20-25", "80", StringComparison.Ordinal)))
            .Errors.Should().BeEmpty("the rules cannot match the same packet");
        PolicyLoader.Load(SpecWith("dstPorts: \"22\" }", "dstPorts: \"22\" }" + SecondRule.Replace("direction: both", "direction: ingress", StringComparison.Ordinal)))
            .Errors.Should().BeEmpty("the rules are for different directions");
    }

    [Fact]
    public void Validate_AclPrefixFamiliesDiffer_IsAnError() =>
        SingleError(SpecWith("dst: 10.1.9.0/24", "dst: 2001:db8::/32"), "acl.rules[0].dst", "different IP families");

    // --- SNAT, QoS, conntrack, offload ---

    [Fact]
    public void Validate_SnatPortsFromZero_IsAnError() =>
        SingleError(SpecWith("ports: \"1024-65535\"", "ports: \"0-100\""), "snat[0].ports", "within 1-65535");

    [Fact]
    public void Validate_SnatPortsInverted_IsAnError() =>
        SingleError(SpecWith("ports: \"1024-65535\"", "ports: \"65535-1024\""), "snat[0].ports", "inverted");

    [Fact]
    public void Validate_SnatPortsSeveralRanges_IsAnError() =>
        SingleError(SpecWith("ports: \"1024-65535\"", "ports: \"1024-2000,3000-4000\""), "snat[0].ports", "one range");

    [Fact]
    public void Validate_SnatPublicIpInsideANetwork_IsAnError() =>
        SingleError(SpecWith("publicIp: 203.0.113.5", "publicIp: 10.2.0.5"), "snat[0].publicIp", "inside network 'red'");

    [Fact]
    public void Validate_TwoSnatEntriesForOneNetwork_IsAnError() =>
        SingleError(SpecWith("ports: \"1024-65535\" }", "ports: \"1024-65535\" }\n  - { network: blue, publicIp: 203.0.113.6 }"),
            "snat[1].network", "already has SNAT (snat[0])");

    [Fact]
    public void Validate_QosRateNotPositive_IsAnError() =>
        SingleError(SpecWith("rateMbps: 100", "rateMbps: 0"), "qos[0].rateMbps", "more than 0");

    [Fact]
    public void Validate_QosBurstBelowOneFrame_IsAnError() =>
        SingleError(SpecWith("burstKb: 256", "burstKb: 1"), "qos[0].burstKb", "1500-byte frame");

    [Fact]
    public void Validate_ConntrackTimeoutOutOfRange_IsReportedAtItsPath()
    {
        var errors = Errors(SpecWith("tcpSynSent: 120, udp: 30", "tcpSynSent: 0, udp: 99999999"));

        errors.Select(e => e.ToString()).Should().Equal(
            "conntrack.timeouts.tcpSynSent: must be between 1 and 31536000 seconds (was 0)",
            "conntrack.timeouts.udp: must be between 1 and 31536000 seconds (was 99999999)");
    }

    [Fact]
    public void Validate_ConntrackMaxEntriesOutOfRange_IsAnError() =>
        SingleError(SpecWith("maxEntries: 1000000", "maxEntries: 0"), "conntrack.maxEntries", "must be between 1 and");

    [Fact]
    public void Validate_NegativeMinPackets_IsAnError() =>
        SingleError(SpecWith("minPackets: 0", "minPackets: -5"), "offload.minPackets", "0 or more");

    // --- ports, hosts, tunnels, peerings ---

    [Fact]
    public void Validate_RemotePortWithInterface_IsAnError() =>
        SingleError(SpecWith("ip: 10.1.0.3, host: host-b }", "ip: 10.1.0.3, host: host-b, interface: vnet-vm3 }"),
            "ports[1].interface", "only ports on this host ('host-a')", "on 'host-b'");

    [Fact]
    public void Validate_InterfaceNameTooLong_IsAnError() =>
        SingleError(SpecWith("interface: vnet-vm1", "interface: vnet-vm1-far-too-long"), "ports[0].interface", "Linux interface name");

    [Fact]
    public void Validate_PortNamedUplink_IsAnError() =>
        SingleError(WithPort("{ name: uplink, network: blue, mac: \"02:00:00:01:00:04\", ip: 10.1.0.4 }"), "ports[2].name", "reserved");

    [Fact]
    public void Validate_TunnelOtherThanVxlanOrGre_IsAnError() =>
        SingleError(SpecWith("tunnel: gre", "tunnel: geneve"), "networks[1].tunnel", "expected one of gre, vxlan, got 'geneve'");

    [Fact]
    public void Validate_PeeringWithItself_IsAnError() =>
        SingleError(SpecWith("[ [blue, red] ]", "[ [blue, blue] ]"), "peerings[0]", "cannot be peered with itself");

    [Fact]
    public void Validate_PeeringNotAPair_IsAnError() =>
        SingleError(SpecWith("[ [blue, red] ]", "[ [blue, red, blue] ]"), "peerings[0]", "pair of network names");

    [Fact]
    public void Validate_InvalidName_IsAnError() =>
        SingleError(SpecWith("{ name: red,  vni", "{ name: \"r d\",  vni").Replace("[blue, red]", "[blue, \"r d\"]", StringComparison.Ordinal),
            "networks[1].name", "not a valid name");

    [Fact]
    public void Validate_DualStackPortOutsideIpv6Prefix_IsAnError()
    {
        string dual = SpecWith("cidr: 10.1.0.0/16, tunnel: vxlan", "cidr: 10.1.0.0/16, cidr6: \"2001:db8:1::/48\", tunnel: vxlan");
        PolicyLoader.Load(dual.Replace("ip: 10.1.0.3, host", "ip: 10.1.0.3, ipv6: \"2001:db8:1::3\", host", StringComparison.Ordinal)).Errors.Should().BeEmpty();
        SingleError(dual.Replace("ip: 10.1.0.3, host", "ip: 10.1.0.3, ipv6: \"2001:db8:2::3\", host", StringComparison.Ordinal), "ports[1].ipv6", "outside network 'blue'");
    }

    // --- snapshots built in code ---

    [Fact]
    public void Validate_SnapshotBuiltInCode_ReportsEveryErrorInPathOrder()
    {
        var s = PolicyLoader.Load(Spec).Snapshot!;
        var bad = s with
        {
            Networks = [s.Networks[0] with { Tunnel = (TunnelType)9 }, s.Networks[1] with { Vni = 100 }],
            Qos = [new QosConfig("vm1", -1, 256)],
            Host = s.Host with { Underlay = new UnderlayConfig(NetAddress.None, s.Host.Underlay.Mac) },
            Snat = [new SnatConfig("blue", NetAddress.Parse("203.0.113.5"), default)],
        };

        PolicyValidator.Validate(bad).Select(e => e.Path).Should().Equal(
            "host.underlay.ip", "networks[0].tunnel", "networks[1].vni", "snat[0].ports", "qos[0].rateMbps");
    }

    [Fact]
    public void Validate_SpecExample_HasNoErrors() =>
        PolicyValidator.Validate(PolicyLoader.Load(Spec).Snapshot!).Should().BeEmpty();

    [Fact]
    public void Validate_EmptyImmutableArrays_AreFine()
    {
        var s = PolicyLoader.Load(Spec).Snapshot! with { LoadBalancers = ImmutableArray<LoadBalancerConfig>.Empty, Qos = [] };

        PolicyValidator.Validate(s).Should().BeEmpty();
    }
}
