using Offload.Classification;
using Offload.Actions;
using Offload.Datapath;
using Offload.Packets;
using Offload.Policy;
using static Offload.Tests.Policy.PolicyExamples;

namespace Offload.Tests.Policy;

public class PolicyLoaderTests
{
    [Fact]
    public void Load_SpecExample_LoadsCleanWithItsValues()
    {
        var result = PolicyLoader.Load(Spec);

        result.Errors.Should().BeEmpty();
        var s = result.Snapshot!;
        s.Host.Name.Should().Be("host-a");
        s.Host.Underlay.Should().Be(new UnderlayConfig(NetAddress.Parse("192.0.2.10"), MacAddress.Parse("02:00:00:00:0a:01")));
        s.Host.GatewayMac.Should().Be(MacAddress.Parse("02:00:00:00:ff:fe"));
        s.Host.Uplink.Should().Be("eth1");
        s.Hosts.Should().ContainSingle().Which.Underlay.Ip.Should().Be(NetAddress.Parse("192.0.2.11"));
        s.Networks.Select(n => (n.Name, n.Vni, n.Cidr.ToString(), n.Tunnel)).Should().Equal(
            ("blue", 100, "10.1.0.0/16", TunnelType.Vxlan), ("red", 200, "10.2.0.0/16", TunnelType.Gre));
        s.Peerings.Should().Equal(new PeeringConfig("blue", "red"));
        s.Ports.Should().HaveCount(2);
        s.Ports[0].Should().Be(new PortConfig
        {
            Name = "vm1", Network = "blue", Mac = MacAddress.Parse("02:00:00:01:00:01"), Ip = NetAddress.Parse("10.1.0.1"),
            Host = "host-a", Interface = "vnet-vm1",
        });
        s.IsLocal(s.Ports[0]).Should().BeTrue();
        s.IsLocal(s.Ports[1]).Should().BeFalse();
        s.Acl.Mode.Should().Be(AclMode.DenyList);
        var rule = s.Acl.Rules.Should().ContainSingle().Subject;
        (rule.Priority, rule.Action, rule.Direction, rule.Network, rule.Protocol).Should().Be((100, RuleAction.Deny, TrafficDirection.Egress, "blue", (byte?)6));
        rule.Src.Should().Be(Prefix.Parse("10.1.0.0/24"));
        rule.Dst.Should().Be(Prefix.Parse("10.1.9.0/24"));
        rule.DstPorts!.Contains(22).Should().BeTrue();
        rule.DstPorts.Contains(23).Should().BeFalse();
        rule.SrcPorts.Should().BeNull();
        var sg = s.SecurityGroups.Should().ContainSingle().Subject;
        sg.Ports.Should().Equal("vm1");
        sg.Inbound.Should().Be(RuleAction.Deny);
        sg.AllowInbound.Should().ContainSingle().Which.DstPorts!.ToString().Should().Be("80,443");
        var lb = s.LoadBalancers.Should().ContainSingle().Subject;
        (lb.Vip, lb.Port, lb.Protocol, lb.Algorithm).Should().Be((NetAddress.Parse("10.1.255.10"), (ushort)80, IpProtocol.Tcp, LoadBalancingAlgorithm.Maglev));
        lb.Backends.Should().Equal(new BackendConfig(NetAddress.Parse("10.1.0.1"), 8080), new BackendConfig(NetAddress.Parse("10.1.0.3"), 8080));
        s.Snat.Should().Equal(new SnatConfig("blue", NetAddress.Parse("203.0.113.5"), new PortRange(1024, 65535)));
        s.Qos.Should().Equal(new QosConfig("vm1", 100, 256));
        s.Generation.Should().Be(0, "only the store assigns generations");
    }

    [Fact]
    public void Load_SpecExample_ConvertsToConntrackAndOffloadOptions()
    {
        var s = PolicyLoader.Load(Spec).Snapshot!;

        var ct = s.ToConntrackOptions();
        ct.MaxEntries.Should().Be(1_000_000);
        ct.Timeouts.TcpEstablished.Should().Be(432_000);
        ct.Timeouts.Udp.Should().Be(30);
        ct.Timeouts.TcpClose.Should().Be(10, "unset timeouts keep Linux's default");
        ct.Validate();
        var offload = s.ToOffloadPolicy();
        offload.When.Should().Be(OffloadTrigger.Established);
        offload.MinPackets.Should().Be(0);
    }

    [Fact]
    public void Load_SameContentDifferentLayout_HasSameDigestAndIsEqual()
    {
        var a = PolicyLoader.Load(Spec).Snapshot!;
        // Block style instead of flow style, keys reordered, no comments, explicit defaults.
        string reordered = SpecWith("offload: { when: established, minPackets: 0 }", "offload:\n  minPackets: 0\n  when: established")
            .Replace("{ name: blue, vni: 100, cidr: 10.1.0.0/16, tunnel: vxlan }", "{ cidr: 10.1.0.0/16, name: blue, vni: 100 }", StringComparison.Ordinal)
            .Replace("    # vxlan | gre", "", StringComparison.Ordinal);
        var b = PolicyLoader.Load(reordered).Snapshot!;

        b.Digest.Should().Be(a.Digest).And.MatchRegex("^[0-9a-f]{64}$");
        b.Should().Be(a);
        (b with { Generation = 7 }).Should().Be(a, "the generation is not content");
    }

    [Fact]
    public void Load_DifferentContent_HasDifferentDigest()
    {
        var a = PolicyLoader.Load(Spec).Snapshot!;
        var b = PolicyLoader.Load(SpecWith("rateMbps: 100", "rateMbps: 101")).Snapshot!;

        b.Digest.Should().NotBe(a.Digest);
        b.Should().NotBe(a);
    }

    [Fact]
    public void Load_Defaults_FilledWhenKeysAreLeftOut()
    {
        var s = PolicyLoader.Load("""
            host: { name: h, underlay: { ip: 192.0.2.1, mac: "02:00:00:00:00:01" } }
            networks: [ { name: n, vni: 1, cidr: 10.0.0.0/24 } ]
            ports: [ { name: p, network: n, mac: "02:00:00:00:00:02", ip: 10.0.0.2 } ]
            loadBalancers: [ { name: lb, network: n, vip: 10.0.0.100, port: 53, backends: [ { ip: 10.0.0.2 } ] } ]
            snat: [ { network: n, publicIp: 198.51.100.1 } ]
            """).Snapshot!;

        s.Networks[0].Tunnel.Should().Be(TunnelType.Vxlan);
        s.Ports[0].Host.Should().Be("h", "a port without host is on the local host");
        s.LoadBalancers[0].Protocol.Should().Be(IpProtocol.Tcp);
        s.LoadBalancers[0].Algorithm.Should().Be(LoadBalancingAlgorithm.Maglev);
        s.LoadBalancers[0].Backends[0].Should().Be(new BackendConfig(NetAddress.Parse("10.0.0.2"), 53, 1));
        s.Snat[0].Ports.Should().Be(new PortRange(1024, 65535));
        s.Acl.Should().Be(AclConfig.Empty);
        s.ToOffloadPolicy().When.Should().Be(OffloadTrigger.FirstPacket);
        s.ToConntrackOptions().Timeouts.TcpEstablished.Should().Be(432_000);
    }

    [Theory]
    [InlineData("host: { name: h\nnetworks: [\n")]   // YamlDotNet fails with a state exception here
    [InlineData("host: [a, b\nnetworks: {\n")]
    [InlineData("host: \"unterminated\n")]
    [InlineData("a: b: c\n")]
    [InlineData("- a\nb: c\n")]
    public void Load_YamlSyntaxError_ReportsLineAndColumn(string yaml)
    {
        var e = Errors(yaml).Single();

        e.Path.Should().BeEmpty();
        e.Message.Should().MatchRegex("^YAML syntax error (at|near) line [0-9]+, column [0-9]+: .+");
        e.Line.Should().BeGreaterThan(0);
        e.ToString().Should().Be(e.Message);
    }

    [Fact]
    public void Load_BadIndentation_ReportsTheLine()
    {
        var e = Errors("host:\n  name: h\n underlay: x\n").Single();

        e.Line.Should().Be(3);
        e.Message.Should().Contain("line 3");
    }

    [Fact]
    public void Load_DuplicateKey_IsAnError()
    {
        var e = Errors(SpecWith("uplink: eth1 }", "uplink: eth1, uplink: eth2 }")).Single();

        e.Message.Should().Contain("line 3").And.Contain("uplink");
    }

    [Fact]
    public void Load_Empty_IsAnError()
    {
        Errors("").Single().Message.Should().Contain("empty");
        Errors("# only a comment\n").Single().Message.Should().Contain("empty");
    }

    [Fact]
    public void Load_TwoDocuments_IsAnError()
    {
        Errors(Spec + "\n---\nhost: { name: x }\n").Single().Message.Should().Contain("one YAML document");
    }

    [Fact]
    public void Load_UnknownKey_NamesItsPathAndSuggestsTheClosestKey()
    {
        var e = SingleError(SpecWith("network: blue, mac: \"02:00:00:01:00:01\"", "netwrok: blue, network: blue, mac: \"02:00:00:01:00:01\""),
            "ports[0].netwrok", "unknown key 'netwrok'", "did you mean 'network'?");

        e.ToString().Should().StartWith("ports[0].netwrok: unknown key");
        e.Line.Should().Be(11);
    }

    [Fact]
    public void Load_UnknownKeyFarFromAnyKnown_ListsTheKnownKeys()
    {
        SingleError(SpecWith("offload: { when: established, minPackets: 0 }", "offload: { when: established, colour: red }"),
            "offload.colour", "unknown key 'colour'", "expected one of: when, minPackets");
    }

    [Fact]
    public void Load_UnknownTopLevelKey_IsAnError()
    {
        SingleError(Spec + "\nloadbalancer: []\n", "loadbalancer", "did you mean 'loadBalancers'?");
    }

    [Fact]
    public void Load_WrongType_NamesTheExpectedType()
    {
        SingleError(SpecWith("vni: 100", "vni: hundred"), "networks[0].vni", "expected an integer, got 'hundred'");
        SingleError(SpecWith("ports: [vm1]", "ports: vm1"), "securityGroups[0].ports", "expected a list, got 'vm1'");
        SingleError(SpecWith("offload: { when: established, minPackets: 0 }", "offload: [established]"), "offload", "expected a mapping");
        SingleError(SpecWith("rateMbps: 100", "rateMbps: fast"), "qos[0].rateMbps", "expected a number, got 'fast'");
        SingleError(SpecWith("name: host-a,", "name: [host-a],"), "host.name", "expected a string, got a list");
    }

    [Fact]
    public void Load_MissingRequiredKey_IsAnError()
    {
        SingleError(SpecWith("{ name: red,  vni: 200, cidr: 10.2.0.0/16, tunnel: gre }", "{ name: red, cidr: 10.2.0.0/16, tunnel: gre }"),
            "networks[1].vni", "required key 'vni' is missing");
    }

    [Fact]
    public void Load_MissingHost_IsAnError()
    {
        Errors("networks: []\n").Should().Contain(e => e.Path == "host" && e.Message.Contains("required key 'host'", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_BadValueFormat_NamesTheValue()
    {
        SingleError(SpecWith("ip: 10.1.0.3, host", "ip: 10.1.0, host"), "ports[1].ip", "expected an IP address", "'10.1.0'");
        SingleError(SpecWith("mac: \"02:00:00:01:00:03\"", "mac: \"02:00:00:01:00\""), "ports[1].mac", "expected a MAC address");
        SingleError(SpecWith("cidr: 10.2.0.0/16", "cidr: 10.2.0.0/33"), "networks[1].cidr", "bad prefix length");
        SingleError(SpecWith("cidr: 10.2.0.0/16", "cidr: 10.2.0.0"), "networks[1].cidr", "with a length");
        SingleError(SpecWith("algorithm: maglev", "algorithm: maglv"), "loadBalancers[0].algorithm", "did you mean 'maglev'?");
        SingleError(SpecWith("protocol: tcp, dstPorts: \"22\"", "protocol: sctp, dstPorts: \"22\""), "acl.rules[0].protocol", "got 'sctp'");
    }

    [Fact]
    public void Load_ProtocolNumber_IsAccepted()
    {
        var s = PolicyLoader.Load(SpecWith("protocol: tcp, dstPorts: \"22\"", "protocol: 47")).Snapshot!;

        s.Acl.Rules[0].Protocol.Should().Be(IpProtocol.Gre);
    }

    [Fact]
    public void Load_FiveDifferentErrors_ReportsAllInDocumentOrder()
    {
        string yaml = Spec
            .Replace("vni: 200", "vni: 100", StringComparison.Ordinal)                          // duplicate VNI
            .Replace("ip: 10.1.0.3, host: host-b", "ip: 10.2.0.3, host: host-c", StringComparison.Ordinal) // outside CIDR + unknown host
            .Replace("ports: [vm1]", "ports: [vm9]", StringComparison.Ordinal)                  // dangling port
            .Replace("{ ip: 10.1.0.3, port: 8080 }", "{ ip: 10.1.255.10, port: 8080 }", StringComparison.Ordinal) // VIP as backend
            .Replace("burstKb: 256", "burstKb: 1", StringComparison.Ordinal)                    // burst below a frame
            .Replace("udp: 30,", "udp: 0,", StringComparison.Ordinal)                           // bad timeout
            .Replace("tunnel: gre", "tunnel: geneve", StringComparison.Ordinal);                // bad tunnel type

        var errors = Errors(yaml);

        errors.Select(e => e.Path).Should().Equal(
            "networks[1].vni", "networks[1].tunnel", "ports[1].ip", "ports[1].host", "securityGroups[0].ports[0]",
            "loadBalancers[0].backends[1].ip", "qos[0].burstKb", "conntrack.timeouts.udp");
        errors.Should().OnlyContain(e => e.Line > 0 && e.Column > 0);
        errors.Select(e => e.Line).Should().BeInAscendingOrder();
    }

    [Fact]
    public void Load_ErrorToString_IsPathColonMessage()
    {
        var e = SingleError(SpecWith("{ ip: 10.1.0.3, port: 8080 }", "{ ip: 10.9.0.3, port: 8080 }"),
            "loadBalancers[0].backends[1].ip", "10.9.0.3", "network 'blue'");

        e.ToString().Should().Be("loadBalancers[0].backends[1].ip: " + e.Message);
    }

    [Fact]
    public void LoadFile_MissingFile_IsAnErrorNotAnException()
    {
        var result = PolicyLoader.LoadFile(Path.Combine(Path.GetTempPath(), "offload-no-such-policy-" + Guid.NewGuid() + ".yaml"));

        result.Success.Should().BeFalse();
        result.Errors.Single().Message.Should().StartWith("cannot read policy file");
    }

    [Fact]
    public void LoadFile_SpecExample_Loads()
    {
        string path = Path.Combine(Path.GetTempPath(), "offload-policy-" + Guid.NewGuid() + ".yaml");
        File.WriteAllText(path, Spec);
        try
        {
            PolicyLoader.LoadFile(path).Snapshot!.Digest.Should().Be(PolicyLoader.Load(Spec).Snapshot!.Digest);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
