using System.Globalization;
using System.Text;
using Offload.Policy;

namespace Offload.Kernel.Tests.Nftables;

/// <summary>
/// Small valid policies from a seed (for CsCheck): 1–3 networks with random peerings, local and remote ports, an ACL
/// in either mode with distinct priorities, security groups, a load balancer of any algorithm and SNAT. Written as
/// YAML and loaded through <see cref="PolicyLoader"/>, so every one has passed the real validator.
/// </summary>
internal static class RandomPolicy
{
    private static readonly string[] Protocols = ["tcp", "udp", "icmp", "any"];
    private static readonly string[] PortLists = ["22", "80,443", "1000-2000,3000", "1-65535"];
    private static readonly string[] Algorithms = ["random", "maglev", "least-connections"];

    public static string Yaml(int seed)
    {
        var r = new Random(seed);
        var y = new StringBuilder();
        string I(int v) => v.ToString(CultureInfo.InvariantCulture);
        y.Append("host: { name: host-a, underlay: { ip: 192.0.2.10, mac: \"02:00:00:00:0a:01\" }, uplink: up0 }\n");
        y.Append("hosts: [ { name: host-b, underlay: { ip: 192.0.2.11, mac: \"02:00:00:00:0b:01\" } } ]\n");
        int networks = r.Next(1, 4);
        y.Append("networks:\n");
        for (int n = 0; n < networks; n++)
        {
            y.Append($"  - {{ name: n{I(n)}, vni: {I(100 + n)}, cidr: 10.{I(n)}.0.0/16, tunnel: {(r.Next(2) == 0 ? "vxlan" : "gre")}");
            // Even networks are dual-stack, so IPv6 sets, prefixes and anti-spoofing are exercised too.
            y.Append(n % 2 == 0 ? $", cidr6: \"fd00:{I(n)}::/64\" }}\n" : " }\n");
        }
        var peerings = new List<string>();
        for (int a = 0; a < networks; a++)
        {
            for (int b = a + 1; b < networks; b++)
            {
                if (r.Next(2) == 0)
                    peerings.Add($"[n{I(a)}, n{I(b)}]");
            }
        }
        if (peerings.Count > 0)
            y.Append("peerings: [ ").Append(string.Join(", ", peerings)).Append(" ]\n");
        var local = new List<string>();
        y.Append("ports:\n");
        for (int n = 0; n < networks; n++)
        {
            int count = r.Next(1, 4);
            for (int p = 0; p < count; p++)
            {
                string name = $"vm{I(n)}{I(p)}";
                bool isLocal = p == 0 || r.Next(3) > 0;
                y.Append($"  - {{ name: {name}, network: n{I(n)}, mac: \"02:00:00:00:{n:x2}:{p + 1:x2}\", ip: 10.{I(n)}.0.{I(p + 1)}");
                if (n % 2 == 0 && r.Next(2) == 0)
                    y.Append($", ipv6: \"fd00:{I(n)}::{I(p + 1)}\"");
                if (isLocal)
                {
                    y.Append($", host: host-a, interface: tap-{name} }}\n");
                    local.Add(name);
                }
                else
                {
                    y.Append(", host: host-b }\n");
                }
            }
        }
        y.Append($"acl:\n  mode: {(r.Next(2) == 0 ? "deny-list" : "allow-list")}\n  rules:\n");
        int rules = r.Next(0, 6);
        if (rules == 0)
            y.Length -= "  rules:\n".Length;
        for (int i = 0; i < rules; i++)
        {
            // Distinct priorities: no two rules can tie, so the validator's tie rule never rejects one.
            y.Append($"    - {{ priority: {I((rules - i) * 10)}, action: {(r.Next(2) == 0 ? "deny" : "allow")}");
            y.Append($", direction: {(r.Next(3) switch { 0 => "egress", 1 => "ingress", _ => "both" })}");
            if (r.Next(2) == 0)
                y.Append($", network: n{I(r.Next(networks))}");
            bool v6 = r.Next(4) == 0;
            if (r.Next(2) == 0)
                y.Append(v6 ? ", src: \"fd00:0::/64\"" : $", src: 10.{I(r.Next(networks))}.0.0/{(r.Next(2) == 0 ? "16" : "24")}");
            if (r.Next(2) == 0)
                y.Append(v6 ? $", dst: \"fd00:0::{I(r.Next(1, 4))}/128\"" : $", dst: 10.{I(r.Next(networks))}.0.{I(r.Next(1, 4))}/32");
            string proto = Protocols[r.Next(Protocols.Length)];
            y.Append($", protocol: {proto}");
            if (proto is "tcp" or "udp")
            {
                if (r.Next(2) == 0)
                    y.Append($", dstPorts: \"{PortLists[r.Next(PortLists.Length)]}\"");
                if (r.Next(3) == 0)
                    y.Append($", srcPorts: \"{PortLists[r.Next(PortLists.Length)]}\"");
            }
            y.Append(" }\n");
        }
        if (r.Next(2) == 0)
        {
            var members = local.Where(_ => r.Next(2) == 0).ToList();
            if (members.Count == 0)
                members.Add(local[0]);
            y.Append($"securityGroups:\n  - {{ name: sg{I(seed & 0xff)}, ports: [{string.Join(", ", members)}], inbound: {(r.Next(4) == 0 ? "allow" : "deny")}, allowInbound: [");
            int allow = r.Next(0, 3);
            for (int j = 0; j < allow; j++)
            {
                string proto = Protocols[r.Next(Protocols.Length)];
                y.Append(j == 0 ? " " : ", ").Append($"{{ protocol: {proto}");
                if (proto is "tcp" or "udp")
                    y.Append($", dstPorts: \"{PortLists[r.Next(PortLists.Length)]}\"");
                if (r.Next(2) == 0)
                    y.Append($", src: 10.{I(r.Next(networks))}.0.0/16");
                y.Append(" }");
            }
            y.Append(" ] }\n");
        }
        if (r.Next(3) > 0)
        {
            string algorithm = Algorithms[r.Next(Algorithms.Length)];
            y.Append($"loadBalancers:\n  - {{ name: lb{I(seed & 0xff)}, network: n0, vip: 10.0.255.10, port: 80, protocol: {(r.Next(2) == 0 ? "tcp" : "udp")}, algorithm: {algorithm}, backends: [");
            y.Append(" { ip: 10.0.0.1, port: 8080 }");
            if (r.Next(2) == 0)
                y.Append($", {{ ip: 10.0.0.2, port: 8081, weight: {I(r.Next(1, 5))} }}");
            y.Append(" ] }\n");
        }
        if (r.Next(2) == 0)
            y.Append($"snat:\n  - {{ network: n{I(r.Next(networks))}, publicIp: 203.0.113.5, ports: \"{(r.Next(2) == 0 ? "1024-65535" : "40000-40100")}\" }}\n");
        return y.ToString();
    }

    public static PolicySnapshot Create(int seed)
    {
        string yaml = Yaml(seed);
        PolicyLoadResult result = PolicyLoader.Load(yaml);
        if (result.Snapshot is null)
            throw new InvalidOperationException($"seed {seed} gave an invalid policy: {string.Join("; ", result.Errors)}\n{yaml}");
        return result.Snapshot;
    }
}
