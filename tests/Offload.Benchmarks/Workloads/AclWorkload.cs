using System.Collections.Immutable;
using Offload.Classification;
using Offload.Packets;

namespace Offload.Benchmarks.Workloads;

/// <summary>
/// P6: <see cref="AclClassifier"/> against <see cref="LinearAclClassifier"/> (rules sorted by precedence, scan stops at
/// the first match) over the same 10,000 cloud-like rules and the same random first-packet queries. The rule and query
/// generator follows tests/Offload.Core.Tests/Classification/AclRuleGen.cs (Realistic, RealisticQuery).
/// </summary>
internal sealed class AclWorkload
{
    private static readonly byte[] ProtocolPool = [IpProtocol.Tcp, IpProtocol.Udp, IpProtocol.Icmp];
    private readonly AclQuery[] _queries;
    private int _treePos, _linearPos;

    public long Checksum;

    public AclWorkload(int rules, int queries = 8192)
    {
        var r = new Random(6);
        var set = Realistic(r, rules);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        Tree = AclClassifier.Build(set, AclMode.DenyList);
        BuildSeconds = sw.Elapsed.TotalSeconds;
        Linear = LinearAclClassifier.Build(set, AclMode.DenyList);
        _queries = new AclQuery[queries];
        for (int i = 0; i < queries; i++)
            _queries[i] = RealisticQuery(r, set);
        for (int i = 0; i < queries; i++)
        {
            if (Tree.Classify(_queries[i]) != Linear.Classify(_queries[i]))
                throw new InvalidOperationException($"classifiers disagree on query {i}: {_queries[i]}");
        }
    }

    public AclClassifier Tree { get; }

    public LinearAclClassifier Linear { get; }

    public double BuildSeconds { get; }

    public const int Chunk = 16;

    public void TreeChunk()
    {
        for (int i = 0; i < Chunk; i++)
        {
            if (++_treePos == _queries.Length)
                _treePos = 0;
            Checksum += Tree.Classify(_queries[_treePos]).RuleId;
        }
    }

    public void LinearChunk()
    {
        for (int i = 0; i < Chunk; i++)
        {
            if (++_linearPos == _queries.Length)
                _linearPos = 0;
            Checksum += Linear.Classify(_queries[_linearPos]).RuleId;
        }
    }

    private static AclRule[] Realistic(Random r, int count)
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

    private static AclQuery RealisticQuery(Random r, AclRule[] rules)
    {
        if (r.Next(2) == 0)
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
        if (prefix.Length == 0)
            return RandomAddress(r, r.Next(10) == 0);
        UInt128 span = prefix.Last - prefix.First;
        UInt128 offset = new((ulong)r.NextInt64(), (ulong)r.NextInt64());
        UInt128 value = span == UInt128.MaxValue ? offset : prefix.First + offset % (span + 1);
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
