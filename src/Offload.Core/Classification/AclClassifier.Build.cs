using System.Collections.Immutable;

using Offload.Packets;

namespace Offload.Classification;

public sealed partial class AclClassifier
{
    private const int MaxDepth = 64;

    /// <summary>Builds the classifier; throws <see cref="ArgumentException"/> for an invalid rule.</summary>
    /// <param name="rules">The rules; <see cref="AclRule.Id"/> is reported back in matches.</param>
    /// <param name="mode">What happens when no rule matches.</param>
    public static AclClassifier Build(IReadOnlyList<AclRule> rules, AclMode mode)
    {
        ArgumentNullException.ThrowIfNull(rules);
        var compiled = new List<CompiledRule>(rules.Count);
        for (int i = 0; i < rules.Count; i++)
        {
            var rule = rules[i];
            rule.Validate(i);
            Expand(rule, compiled);
        }
        var sorted = compiled.ToArray();
        Array.Sort(sorted, static (a, b) => AclRule.Compare(a.Priority, a.Action, a.Id, b.Priority, b.Action, b.Id));

        // Group by which fields are wide (see remarks); rank = index in precedence order.
        var groups = new List<int>?[8];
        for (int i = 0; i < sorted.Length; i++)
        {
            int g = WideFields(sorted[i]);
            (groups[g] ??= []).Add(i);
        }
        var trees = new List<Tree>();
        foreach (var group in groups)
        {
            if (group is null)
                continue;
            var builder = new TreeBuilder(sorted);
            FieldValues lo = default;
            int root = builder.BuildNode(group.ToArray(), lo, AclFields.UniverseHi(), 0);
            var entries = new LeafEntry[builder.LeafRules.Count];
            for (int i = 0; i < entries.Length; i++)
                entries[i] = new LeafEntry(sorted[builder.LeafRules[i]], builder.LeafRules[i]);
            trees.Add(new Tree(builder.Nodes.ToArray(), builder.Leaves.ToArray(), entries, root, group[0], builder.MaxDepthSeen));
        }
        trees.Sort(static (a, b) => a.BestRank.CompareTo(b.BestRank));
        return new AclClassifier(mode, rules.Count, sorted.Length, trees.ToArray());
    }

    private static int WideFields(in CompiledRule r)
    {
        return (IsWide(r.Lo[AclFields.Source], r.Hi[AclFields.Source]) ? 1 : 0)
            & (IsWide(r.Lo[AclFields.Destination], r.Hi[AclFields.Destination]) ? 1 : 0)
            | (r.Lo[AclFields.Vni] != r.Hi[AclFields.Vni] ? 2 : 0);

        // IPv4 shorter than /16 (2^16 addresses), IPv6 shorter than /64.
        static bool IsWide(UInt128 first, UInt128 last)
        {
            UInt128 span = last - first;
            bool v4 = first >> 32 == 0xFFFF && last >> 32 == 0xFFFF;
            return v4 ? span >= (UInt128)1 << 16 : span >= (UInt128)1 << 64;
        }
    }

    private static void Expand(in AclRule rule, List<CompiledRule> into)
    {
        ImmutableArray<PortRange> srcPorts = rule.SourcePorts.IsDefaultOrEmpty ? [PortRange.Any] : rule.SourcePorts;
        ImmutableArray<PortRange> dstPorts = rule.DestinationPorts.IsDefaultOrEmpty ? [PortRange.Any] : rule.DestinationPorts;
        foreach (var sp in srcPorts)
        {
            foreach (var dp in dstPorts)
            {
                var c = new CompiledRule { Priority = rule.Priority, Id = rule.Id, Action = rule.Action };
                (c.Lo[AclFields.Direction], c.Hi[AclFields.Direction]) = rule.Direction switch
                {
                    AclDirection.Ingress => ((UInt128)0, (UInt128)0),
                    AclDirection.Egress => ((UInt128)1, (UInt128)1),
                    _ => ((UInt128)0, (UInt128)1),
                };
                (c.Lo[AclFields.Vni], c.Hi[AclFields.Vni]) = rule.Vni is uint vni ? (vni, vni) : ((UInt128)0, (UInt128)uint.MaxValue);
                (c.Lo[AclFields.Source], c.Hi[AclFields.Source]) = (rule.Source.First, rule.Source.Last);
                (c.Lo[AclFields.Destination], c.Hi[AclFields.Destination]) = (rule.Destination.First, rule.Destination.Last);
                (c.Lo[AclFields.Protocol], c.Hi[AclFields.Protocol]) =
                    rule.Protocol is byte p ? (p, p) : ((UInt128)0, (UInt128)byte.MaxValue);
                (c.Lo[AclFields.SourcePort], c.Hi[AclFields.SourcePort]) = (sp.Lo, sp.Hi);
                (c.Lo[AclFields.DestinationPort], c.Hi[AclFields.DestinationPort]) = (dp.Lo, dp.Hi);
                into.Add(c);
            }
        }
    }

    private sealed class TreeBuilder(CompiledRule[] rules)
    {
        // Replication bound: past it, remaining nodes become leaves (slower lookups, same answers).
        private readonly long _referenceBudget = Math.Max(1L << 16, 64L * rules.Length);
        private UInt128[] _scratch = new UInt128[Math.Max(16, 2 * rules.Length)];

        public List<Node> Nodes { get; } = [];
        public List<Leaf> Leaves { get; } = [];
        public List<int> LeafRules { get; } = [];
        public int MaxDepthSeen { get; private set; }

        /// <summary>Builds the subtree for <paramref name="list"/> (precedence order) in the region [lo, hi];
        /// returns a node index, or the complement of a leaf index.</summary>
        public int BuildNode(int[] list, FieldValues lo, FieldValues hi, int depth)
        {
            MaxDepthSeen = Math.Max(MaxDepthSeen, depth);
            int count = list.Length;
            for (int i = 0; i < count; i++)
            {
                if (Covers(rules[list[i]], lo, hi))
                {
                    count = i + 1;
                    break;
                }
            }
            if (count <= LeafSize || depth >= MaxDepth || LeafRules.Count >= _referenceBudget)
                return MakeLeaf(list, count);

            int bestField = -1;
            UInt128 bestSplit = default;
            int bestMax = int.MaxValue, bestSum = int.MaxValue;
            for (int f = 0; f < AclFields.Count; f++)
            {
                if (!TryMedianBoundary(list, count, f, lo[f], hi[f], out UInt128 split))
                    continue;
                int left = 0, right = 0;
                for (int i = 0; i < count; i++)
                {
                    ref readonly CompiledRule r = ref rules[list[i]];
                    if (r.Lo[f] <= split)
                        left++;
                    if (r.Hi[f] > split)
                        right++;
                }
                int max = Math.Max(left, right), sum = left + right;
                if (max < bestMax || (max == bestMax && sum < bestSum))
                {
                    (bestField, bestSplit, bestMax, bestSum) = (f, split, max, sum);
                }
            }
            // Unreachable in theory (an uncovered region always has an inner boundary); kept as a safe stop.
            if (bestField < 0)
                return MakeLeaf(list, count);

            var leftList = new List<int>(bestMax);
            var rightList = new List<int>(bestMax);
            for (int i = 0; i < count; i++)
            {
                ref readonly CompiledRule r = ref rules[list[i]];
                if (r.Lo[bestField] <= bestSplit)
                    leftList.Add(list[i]);
                if (r.Hi[bestField] > bestSplit)
                    rightList.Add(list[i]);
            }
            int index = Nodes.Count;
            Nodes.Add(default);
            FieldValues leftHi = hi;
            leftHi[bestField] = bestSplit;
            FieldValues rightLo = lo;
            rightLo[bestField] = bestSplit + 1;
            int leftChild = BuildNode(leftList.ToArray(), lo, leftHi, depth + 1);
            int rightChild = BuildNode(rightList.ToArray(), rightLo, hi, depth + 1);
            Nodes[index] = new Node(bestField, bestSplit, leftChild, rightChild);
            return index;
        }

        /// <summary>The median of the rule edges strictly inside (lo, hi) on field <paramref name="f"/>, as a
        /// cut "value ≤ split goes left"; false when no rule edge falls inside the region.</summary>
        private bool TryMedianBoundary(int[] list, int count, int f, UInt128 lo, UInt128 hi, out UInt128 split)
        {
            if (_scratch.Length < 2 * count)
                _scratch = new UInt128[2 * count];
            int n = 0;
            for (int i = 0; i < count; i++)
            {
                ref readonly CompiledRule r = ref rules[list[i]];
                if (r.Lo[f] > lo)
                    _scratch[n++] = r.Lo[f] - 1;
                if (r.Hi[f] < hi)
                    _scratch[n++] = r.Hi[f];
            }
            if (n == 0)
            {
                split = default;
                return false;
            }
            var edges = _scratch.AsSpan(0, n);
            edges.Sort();
            split = edges[n / 2];
            return true;
        }

        private static bool Covers(in CompiledRule r, in FieldValues lo, in FieldValues hi)
        {
            for (int f = 0; f < AclFields.Count; f++)
            {
                if (r.Lo[f] > lo[f] || r.Hi[f] < hi[f])
                    return false;
            }
            return true;
        }

        private int MakeLeaf(int[] list, int count)
        {
            int start = LeafRules.Count;
            for (int i = 0; i < count; i++)
                LeafRules.Add(list[i]);
            Leaves.Add(new Leaf(start, LeafRules.Count));
            return ~(Leaves.Count - 1);
        }
    }
}
