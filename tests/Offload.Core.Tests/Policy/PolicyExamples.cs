using Offload.Policy;

namespace Offload.Tests.Policy;

/// <summary>Policies shared by the policy tests.</summary>
internal static class PolicyExamples
{
    /// <summary>The example of SPEC.md "Policy: the user-facing model", verbatim.</summary>
    public const string Spec = """
        host: { name: host-a, underlay: { ip: 192.0.2.10, mac: "02:00:00:00:0a:01" },
                gatewayMac: "02:00:00:00:ff:fe",    # next hop on the uplink for public traffic
                uplink: eth1 }                      # device for underlay and public traffic (`offload run`)
        hosts:                        # other hosts' tunnel endpoints
          - { name: host-b, underlay: { ip: 192.0.2.11, mac: "02:00:00:00:0b:01" } }
        networks:
          - { name: blue, vni: 100, cidr: 10.1.0.0/16, tunnel: vxlan }   # vxlan | gre
          - { name: red,  vni: 200, cidr: 10.2.0.0/16, tunnel: gre }
        peerings: [ [blue, red] ]     # optional: which networks may talk
        ports:                        # VM NICs; those on `host` are local
          - { name: vm1, network: blue, mac: "02:00:00:01:00:01", ip: 10.1.0.1, host: host-a,
              interface: vnet-vm1 }   # host-side device of the VM's vNIC (for `offload run`)
          - { name: vm3, network: blue, mac: "02:00:00:01:00:03", ip: 10.1.0.3, host: host-b }
        acl:
          mode: deny-list             # deny-list | allow-list
          rules:
            - { priority: 100, action: deny, direction: egress, network: blue,
                src: 10.1.0.0/24, dst: 10.1.9.0/24, protocol: tcp, dstPorts: "22" }
        securityGroups:               # stateful, per port
          - { name: web, ports: [vm1], inbound: deny, allowInbound: [ { protocol: tcp, dstPorts: "80,443" } ] }
        loadBalancers:
          - { name: web, network: blue, vip: 10.1.255.10, port: 80, protocol: tcp, algorithm: maglev,
              backends: [ { ip: 10.1.0.1, port: 8080 }, { ip: 10.1.0.3, port: 8080 } ] }
        snat:
          - { network: blue, publicIp: 203.0.113.5, ports: "1024-65535" }
        qos:
          - { port: vm1, rateMbps: 100, burstKb: 256 }
        conntrack:
          maxEntries: 1000000
          timeouts: { tcpEstablished: 432000, tcpSynSent: 120, udp: 30, udpStream: 120, icmp: 30 }
        offload: { when: established, minPackets: 0 }
        """;

    /// <summary>The SPEC example with <paramref name="find"/> replaced; fails the test when it is not there exactly once.</summary>
    public static string SpecWith(string find, string replace)
    {
        int at = Spec.IndexOf(find, StringComparison.Ordinal);
        at.Should().BeGreaterThanOrEqualTo(0, $"the example contains '{find}'");
        Spec.IndexOf(find, at + 1, StringComparison.Ordinal).Should().Be(-1, $"'{find}' is unique in the example");
        return string.Concat(Spec.AsSpan(0, at), replace, Spec.AsSpan(at + find.Length));
    }

    /// <summary>Loads <paramref name="yaml"/>, expecting it to be rejected, and returns the errors.</summary>
    public static IReadOnlyList<PolicyError> Errors(string yaml)
    {
        var result = PolicyLoader.Load(yaml);
        result.Snapshot.Should().BeNull("the policy is invalid");
        result.Errors.Should().NotBeEmpty();
        return result.Errors;
    }

    /// <summary>Asserts that <paramref name="yaml"/> is rejected with exactly one error, at <paramref name="path"/>,
    /// whose message contains every one of <paramref name="messageParts"/>.</summary>
    public static PolicyError SingleError(string yaml, string path, params string[] messageParts)
    {
        var errors = Errors(yaml);
        errors.Should().ContainSingle($"one error is expected, got: {string.Join(" | ", errors)}");
        var e = errors[0];
        e.Path.Should().Be(path, e.ToString());
        foreach (string part in messageParts)
            e.Message.Should().Contain(part);
        return e;
    }
}
