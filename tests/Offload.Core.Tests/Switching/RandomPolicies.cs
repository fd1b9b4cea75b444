using System.Collections.Immutable;
using Offload.Actions;
using Offload.Packets;
using Offload.Policy;

namespace Offload.Tests.Switching;

/// <summary>What a generated policy may contain (the properties switch features off that they cannot judge).</summary>
internal sealed record PolicyFeatures
{
    public bool MaglevOnly { get; init; }
}

/// <summary>
/// Random valid policies for host-a: 2–4 networks with random VNIs and non-overlapping /16–/24
/// prefixes (distinct second octets), random peerings, 2–8 ports over host-a and 1–2 other hosts,
/// ACL rules, security groups, load balancers and SNAT. Every policy is checked by
/// <see cref="PolicyValidator"/>; an invalid one is regenerated from the next draw of the same random
/// source, so a seed still names one policy.
/// </summary>
internal static class RandomPolicies
{
    public static readonly MacAddress HostMac = MacAddress.Parse("02:00:00:00:0a:01");
    public static readonly NetAddress HostIp = NetAddress.Parse("192.0.2.10");
    public static readonly MacAddress GatewayMac = MacAddress.Parse("02:00:00:00:ff:fe");

    private static readonly RemoteHostConfig[] OtherHosts =
    [
        new("host-b", new UnderlayConfig(NetAddress.Parse("192.0.2.11"), MacAddress.Parse("02:00:00:00:0b:01"))),
        new("host-c", new UnderlayConfig(NetAddress.Parse("192.0.2.12"), MacAddress.Parse("02:00:00:00:0c:01"))),
    ];

    /// <summary>Public (off-network) addresses frames may be sent to.</summary>
    public static readonly NetAddress[] PublicAddresses = [NetAddress.Parse("198.51.100.7"), NetAddress.Parse("198.51.100.200"), NetAddress.Parse("8.8.8.8")];

    public static int Rejected;

    /// <summary>A valid policy drawn from <paramref name="r"/>.</summary>
    public static PolicySnapshot Valid(Random r, PolicyFeatures? features = null)
    {
        features ??= new PolicyFeatures();
        List<string> lastErrors = [];
        for (int attempt = 0; attempt < 50; attempt++)
        {
            var p = Draw(r, features);
            var errors = PolicyValidator.Validate(p);
            if (errors.Count == 0)
                return p;
            Interlocked.Increment(ref Rejected);
            lastErrors = errors.Select(e => e.ToString()).ToList();
        }
        throw new InvalidOperationException("the generator keeps drawing invalid policies: " + string.Join("; ", lastErrors));
    }

    public static bool IsValid(PolicySnapshot p) => PolicyValidator.Validate(p).Count == 0;

    private static T Pick<T>(Random r, IReadOnlyList<T> items) => items[r.Next(items.Count)];

    private static PolicySnapshot Draw(Random r, PolicyFeatures features)
    {
        int hostCount = r.Next(1, 3);
        var hosts = OtherHosts.Take(hostCount).ToImmutableArray();

        int networkCount = r.Next(2, 5);
        var networks = ImmutableArray.CreateBuilder<NetworkConfig>();
        var vnis = new HashSet<int>();
        for (int i = 0; i < networkCount; i++)
        {
            int vni;
            do
                vni = r.Next(1, 1 << 24);
            while (!vnis.Add(vni));
            int length = r.Next(16, 25);
            uint third = (uint)r.Next(256);
            uint raw = (10u << 24) | ((uint)(20 * i + r.Next(10)) << 16) | (third << 8);
            uint masked = raw & (uint.MaxValue << (32 - length));
            networks.Add(new NetworkConfig
            {
                Name = "n" + i, Vni = vni, Cidr = new Prefix(NetAddress.FromV4(masked), length),
                Tunnel = r.Next(2) == 0 ? TunnelType.Vxlan : TunnelType.Gre,
            });
        }

        var peerings = ImmutableArray.CreateBuilder<PeeringConfig>();
        for (int a = 0; a < networkCount; a++)
            for (int b = a + 1; b < networkCount; b++)
                if (r.Next(100) < 40)
                    peerings.Add(new PeeringConfig("n" + a, "n" + b));

        var used = new HashSet<NetAddress>();
        int portCount = r.Next(2, 9);
        var ports = ImmutableArray.CreateBuilder<PortConfig>();
        for (int i = 0; i < portCount; i++)
        {
            var net = Pick(r, networks);
            bool local = i == 0 || r.Next(100) < 60;
            ports.Add(new PortConfig
            {
                Name = "vm" + i, Network = net.Name, Mac = PortMac(i), Ip = FreeAddress(r, net, used),
                Host = local ? "host-a" : hosts[r.Next(hosts.Length)].Name,
            });
        }

        var lbs = ImmutableArray.CreateBuilder<LoadBalancerConfig>();
        int lbCount = r.Next(0, 3);
        for (int i = 0; i < lbCount; i++)
        {
            var net = Pick(r, networks);
            var reachable = networks.Where(n => n.Name == net.Name || peerings.Any(pe => pe.Joins(n.Name, net.Name))).ToList();
            var backends = ImmutableArray.CreateBuilder<BackendConfig>();
            int backendCount = r.Next(1, 4);
            for (int j = 0; j < backendCount; j++)
            {
                var candidates = ports.Where(p => reachable.Any(n => n.Name == p.Network)).ToList();
                NetAddress ip = candidates.Count > 0 && r.Next(100) < 85
                    ? Pick(r, candidates).Ip
                    : FreeAddress(r, Pick(r, reachable), used);
                backends.Add(new BackendConfig(ip, r.Next(3) == 0 ? (ushort)8080 : (ushort)(80 + j)));
            }
            lbs.Add(new LoadBalancerConfig
            {
                Name = "lb" + i, Network = net.Name, Vip = FreeAddress(r, net, used), Port = r.Next(2) == 0 ? (ushort)80 : (ushort)53,
                Protocol = r.Next(2) == 0 ? IpProtocol.Tcp : IpProtocol.Udp,
                Algorithm = features.MaglevOnly ? LoadBalancingAlgorithm.Maglev : (LoadBalancingAlgorithm)r.Next(3),
                Backends = backends.ToImmutable(),
            });
        }

        var snat = ImmutableArray.CreateBuilder<SnatConfig>();
        for (int i = 0; i < networkCount; i++)
            if (r.Next(100) < 50)
                snat.Add(new SnatConfig("n" + i, NetAddress.Parse($"203.0.113.{i + 1}"), r.Next(3) == 0 ? new PortRange(40000, 40063) : new PortRange(1024, 65535)));

        var rules = ImmutableArray.CreateBuilder<AclRuleConfig>();
        var mode = r.Next(100) < 20 ? global::Offload.Classification.AclMode.AllowList : global::Offload.Classification.AclMode.DenyList;
        int ruleCount = r.Next(0, 5) + (mode == global::Offload.Classification.AclMode.AllowList ? 2 : 0);
        var priorities = new HashSet<int>();
        for (int i = 0; i < ruleCount; i++)
        {
            int priority;
            do
                priority = r.Next(1, 1000);
            while (!priorities.Add(priority));
            rules.Add(RandomRule(r, priority, mode == global::Offload.Classification.AclMode.AllowList && i < 2 ? RuleAction.Allow : r.Next(100) < 70 ? RuleAction.Deny : RuleAction.Allow, networks, ports));
        }

        var groups = ImmutableArray.CreateBuilder<SecurityGroupConfig>();
        var grouped = new HashSet<string>();
        int groupCount = r.Next(0, 3);
        for (int i = 0; i < groupCount; i++)
        {
            var members = ports.Where(p => !grouped.Contains(p.Name) && r.Next(100) < 40).Select(p => p.Name).ToImmutableArray();
            if (members.Length == 0)
                continue;
            grouped.UnionWith(members);
            var allows = ImmutableArray.CreateBuilder<SecurityGroupRuleConfig>();
            for (int j = r.Next(0, 3); j > 0; j--)
            {
                byte? proto = r.Next(3) switch { 0 => IpProtocol.Tcp, 1 => IpProtocol.Udp, _ => null };
                allows.Add(new SecurityGroupRuleConfig
                {
                    Protocol = proto,
                    DstPorts = proto is null || r.Next(3) == 0 ? null : PortSet.Parse(r.Next(2) == 0 ? "80,443" : "53"),
                    Src = r.Next(3) == 0 ? Pick(r, networks).Cidr : Prefix.None,
                });
            }
            groups.Add(new SecurityGroupConfig
            {
                Name = "sg" + i, Ports = members, Inbound = r.Next(100) < 80 ? RuleAction.Deny : RuleAction.Allow, AllowInbound = allows.ToImmutable(),
            });
        }

        return new PolicySnapshot
        {
            Host = new HostConfig { Name = "host-a", Underlay = new UnderlayConfig(HostIp, HostMac), GatewayMac = GatewayMac },
            Hosts = hosts,
            Networks = networks.ToImmutable(),
            Peerings = peerings.ToImmutable(),
            Ports = ports.ToImmutable(),
            Acl = new AclConfig { Mode = mode, Rules = rules.ToImmutable() },
            SecurityGroups = groups.ToImmutable(),
            LoadBalancers = lbs.ToImmutable(),
            Snat = snat.ToImmutable(),
        };
    }

    public static AclRuleConfig RandomRule(Random r, int priority, RuleAction action, IReadOnlyList<NetworkConfig> networks, IReadOnlyList<PortConfig> ports)
    {
        Prefix Side() => r.Next(4) switch
        {
            0 => Prefix.None,
            1 => Pick(r, networks).Cidr,
            _ => new Prefix(Pick(r, ports).Ip, 32),
        };
        byte? proto = r.Next(4) switch { 0 => IpProtocol.Tcp, 1 => IpProtocol.Udp, 2 => IpProtocol.Icmp, _ => null };
        return new AclRuleConfig
        {
            Priority = priority, Action = action,
            Direction = (TrafficDirection)r.Next(3),
            Network = r.Next(3) == 0 ? Pick(r, networks).Name : null,
            Src = Side(), Dst = Side(), Protocol = proto,
            DstPorts = proto is IpProtocol.Tcp or IpProtocol.Udp && r.Next(2) == 0 ? PortSet.Parse(r.Next(2) == 0 ? "80" : "20-60") : null,
        };
    }

    public static MacAddress PortMac(int i) => MacAddress.Parse($"02:10:00:00:{i / 256:x2}:{i % 256:x2}");

    /// <summary>A host address of <paramref name="net"/> not in <paramref name="used"/> (then marked used).</summary>
    public static NetAddress FreeAddress(Random r, NetworkConfig net, HashSet<NetAddress> used)
    {
        uint baseAddr = net.Cidr.Address.V4;
        uint size = 1u << (32 - net.Cidr.Length);
        while (true)
        {
            var a = NetAddress.FromV4(baseAddr + 1 + (uint)r.Next((int)size - 2));
            if (used.Add(a))
                return a;
        }
    }

    /// <summary>True when traffic of network <paramref name="from"/> may reach <paramref name="to"/> (same network or peered), from the snapshot alone.</summary>
    public static bool Reaches(PolicySnapshot p, string from, string to) =>
        from == to || p.Peerings.Any(pe => pe.Joins(from, to));

    public static bool IsLocal(PortConfig port) => port.Host == "host-a";
}
