using System.Collections.Immutable;
using Offload.Classification;
using Offload.Packets;

namespace Offload.Tests.Classification;

/// <summary>Random ACL rule sets and queries: adversarial (dense overlaps, ties, duplicates) and realistic (large).</summary>
internal static class AclRuleGen
{
    private static readonly NetAddress[] V4Bases =
    [
        NetAddress.Parse("10.0.0.0"), NetAddress.Parse("10.0.0.128"), NetAddress.Parse("10.0.1.0"),
        NetAddress.Parse("10.1.0.0"), NetAddress.Parse("192.168.1.1"), NetAddress.Parse("0.0.0.0"),
        NetAddress.Parse("255.255.255.255"),
    ];

    private static readonly NetAddress[] V6Bases =
    [
        NetAddress.Parse("fd00::"), NetAddress.Parse("fd00::8000:0:0:0"), NetAddress.Parse("2001:db8::1"),
        NetAddress.Parse("::"), NetAddress.Parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
    ];

    private static readonly ushort[] PortPool = [0, 1, 22, 80, 443, 1000, 1500, 2000, 65534, 65535];
    private static readonly byte[] ProtocolPool = [IpProtocol.Tcp, IpProtocol.Udp, IpProtocol.Icmp];

    public static AclRule[] Adversarial(Random r, int count)
    {
        var rules = new AclRule[count];
        for (int i = 0; i < count; i++)
        {
            if (i > 0 && r.Next(10) == 0)
            {
                // A duplicate of an earlier rule's match, possibly with another action or priority.
                var prev = rules[r.Next(i)];
                rules[i] = prev with
                {
                    Id = i,
                    Action = r.Next(2) == 0 ? prev.Action : (AclAction)r.Next(2),
                    Priority = r.Next(2) == 0 ? prev.Priority : r.Next(4),
                };
                continue;
            }
            rules[i] = new AclRule
            {
                Id = r.Next(20) == 0 ? Math.Max(0, i - 1) : i,
                Priority = r.Next(4),
                Action = (AclAction)r.Next(2),
                Direction = (AclDirection)r.Next(3),
                Vni = r.Next(2) == 0 ? null : (uint)r.Next(1, 3),
                Source = AdversarialPrefix(r),
                Destination = AdversarialPrefix(r),
                Protocol = r.Next(5) < 2 ? null : ProtocolPool[r.Next(ProtocolPool.Length)],
                SourcePorts = AdversarialPorts(r),
                DestinationPorts = AdversarialPorts(r),
            };
        }
        return rules;
    }

    private static AclPrefix AdversarialPrefix(Random r)
    {
        int kind = r.Next(10);
        if (kind < 2)
            return AclPrefix.Any;
        if (kind < 7)
            return AclPrefix.V4(V4Bases[r.Next(V4Bases.Length)].V4, r.Next(33));
        return new AclPrefix(V6Bases[r.Next(V6Bases.Length)], r.Next(129));
    }

    private static ImmutableArray<PortRange> AdversarialPorts(Random r)
    {
        int kind = r.Next(10);
        if (kind < 4)
            return default;
        int n = kind < 8 ? 1 : r.Next(2, 4);
        var b = ImmutableArray.CreateBuilder<PortRange>(n);
        for (int i = 0; i < n; i++)
        {
            ushort a = PortPool[r.Next(PortPool.Length)], c = PortPool[r.Next(PortPool.Length)];
            b.Add(new PortRange(Math.Min(a, c), Math.Max(a, c)));
        }
        return b.MoveToImmutable();
    }

    /// <summary>A query whose fields sit on, just inside or just outside the edges of a random rule's box.</summary>
    public static AclQuery BoundaryQuery(Random r, AclRule[] rules)
    {
        if (rules.Length == 0 || r.Next(5) == 0)
        {
            return new AclQuery((AclDirection)r.Next(2), (uint)r.Next(4), PoolAddress(r), PoolAddress(r),
                r.Next(4) == 0 ? (byte)r.Next(256) : ProtocolPool[r.Next(ProtocolPool.Length)],
                PortPool[r.Next(PortPool.Length)], PortPool[r.Next(PortPool.Length)]);
        }
        var rule = rules[r.Next(rules.Length)];
        var dir = rule.Direction == AclDirection.Both || r.Next(4) == 0 ? (AclDirection)r.Next(2) : rule.Direction;
        uint vni = rule.Vni is uint v && r.Next(4) != 0 ? v : (uint)r.Next(4);
        byte proto = rule.Protocol is byte p && r.Next(4) != 0 ? p : ProtocolPool[r.Next(ProtocolPool.Length)];
        return new AclQuery(dir, vni, Edge(r, rule.Source), Edge(r, rule.Destination), proto,
            PortEdge(r, rule.SourcePorts), PortEdge(r, rule.DestinationPorts));
    }

    private static NetAddress PoolAddress(Random r) =>
        r.Next(3) == 0 ? V6Bases[r.Next(V6Bases.Length)] : V4Bases[r.Next(V4Bases.Length)];

    private static NetAddress Edge(Random r, AclPrefix prefix)
    {
        UInt128 value = r.Next(2) == 0 ? prefix.First : prefix.Last;
        switch (r.Next(3))
        {
            case 0 when value != UInt128.Zero: value--; break;
            case 1 when value != UInt128.MaxValue: value++; break;
        }
        return new NetAddress((ulong)(value >> 64), (ulong)value);
    }

    private static ushort PortEdge(Random r, ImmutableArray<PortRange> ports)
    {
        if (ports.IsDefaultOrEmpty)
            return PortPool[r.Next(PortPool.Length)];
        var range = ports[r.Next(ports.Length)];
        int value = r.Next(2) == 0 ? range.Lo : range.Hi;
        value += r.Next(3) - 1;
        return (ushort)Math.Clamp(value, 0, 65535);
    }

    /// <summary>A large rule set shaped like a cloud ACL: /8–/32 IPv4 prefixes (some IPv6), single ports,
    /// port ranges and lists, any-protocol rules, per-network and global rules.</summary>
    public static AclRule[] Realistic(Random r, int count)
    {
        var rules = new AclRule[count];
        for (int i = 0; i < count; i++)
        {
            bool v6 = r.Next(10) == 0;
            int pk = r.Next(10);
            rules[i] = new AclRule
            {
                Id = i,
                Priority = r.Next(1000),
                Action = r.Next(3) == 0 ? AclAction.Allow : AclAction.Deny,
                Direction = (AclDirection)r.Next(3),
                Vni = r.Next(10) < 9 ? (uint)(100 + r.Next(50)) : null,
                Source = r.Next(20) == 0 ? AclPrefix.Any : RealisticPrefix(r, v6, tenant: true),
                Destination = r.Next(30) == 0 ? AclPrefix.Any : RealisticPrefix(r, v6, tenant: r.Next(2) == 0),
                Protocol = pk < 4 ? IpProtocol.Tcp : pk < 7 ? IpProtocol.Udp : pk < 8 ? IpProtocol.Icmp : null,
                SourcePorts = r.Next(10) == 0 ? [new PortRange(1024, 65535)] : default,
                DestinationPorts = pk >= 7 ? default : RealisticPorts(r),
            };
        }
        return rules;
    }

    private static AclPrefix RealisticPrefix(Random r, bool v6, bool tenant)
    {
        if (v6)
        {
            ulong hi = 0xfd00_0000_0000_0000UL | ((ulong)r.Next(1 << 16) << 32) | (uint)r.Next();
            return new AclPrefix(new NetAddress(hi, (ulong)r.NextInt64()), 32 + r.Next(97));
        }
        uint address = tenant ? 0x0A00_0000u | (uint)r.Next(1 << 24) : (uint)r.NextInt64(1L << 32);
        return AclPrefix.V4(address, 8 + r.Next(25));
    }

    private static ImmutableArray<PortRange> RealisticPorts(Random r)
    {
        int kind = r.Next(10);
        if (kind < 3)
            return default;
        if (kind < 7)
            return [PortRange.Single((ushort)(r.Next(10) < 6 ? r.Next(1, 1024) : r.Next(1024, 65536)))];
        if (kind < 9)
        {
            int lo = r.Next(1, 60000);
            return [new PortRange((ushort)lo, (ushort)Math.Min(65535, lo + r.Next(1, 5000)))];
        }
        return [PortRange.Single(80), PortRange.Single(443), new PortRange(8000, 8100)];
    }

    /// <summary>Half the queries fall inside a random rule's box, half are random traffic.</summary>
    public static AclQuery RealisticQuery(Random r, AclRule[] rules)
    {
        if (rules.Length == 0 || r.Next(2) == 0)
        {
            bool v6 = r.Next(10) == 0;
            return new AclQuery((AclDirection)r.Next(2), (uint)(100 + r.Next(50)), RandomAddress(r, v6), RandomAddress(r, v6),
                ProtocolPool[r.Next(ProtocolPool.Length)], (ushort)r.Next(65536), (ushort)r.Next(65536));
        }
        var rule = rules[r.Next(rules.Length)];
        var dir = rule.Direction == AclDirection.Both ? (AclDirection)r.Next(2) : rule.Direction;
        return new AclQuery(dir, rule.Vni ?? (uint)(100 + r.Next(50)), Inside(r, rule.Source), Inside(r, rule.Destination),
            rule.Protocol ?? ProtocolPool[r.Next(ProtocolPool.Length)],
            InsidePorts(r, rule.SourcePorts), InsidePorts(r, rule.DestinationPorts));
    }

    private static NetAddress RandomAddress(Random r, bool v6) => v6
        ? new NetAddress(0xfd00_0000_0000_0000UL | ((ulong)r.Next(1 << 16) << 32), (ulong)r.NextInt64())
        : NetAddress.FromV4(r.Next(2) == 0 ? 0x0A00_0000u | (uint)r.Next(1 << 24) : (uint)r.NextInt64(1L << 32));

    private static NetAddress Inside(Random r, AclPrefix prefix)
    {
        UInt128 span = prefix.Last - prefix.First;
        UInt128 offset = new((ulong)r.NextInt64(), (ulong)r.NextInt64());
        UInt128 value = span == UInt128.MaxValue ? offset : prefix.First + offset % (span + 1);
        if (prefix.Length == 0)
            return RandomAddress(r, r.Next(10) == 0);
        return new NetAddress((ulong)(value >> 64), (ulong)value);
    }

    private static ushort InsidePorts(Random r, ImmutableArray<PortRange> ports)
    {
        if (ports.IsDefaultOrEmpty)
            return (ushort)r.Next(65536);
        var range = ports[r.Next(ports.Length)];
        return (ushort)r.Next(range.Lo, range.Hi + 1);
    }
}
