using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

using Offload.Packets;

namespace Offload.Classification;

public sealed partial class AclClassifier
{
    private const int MaxDepth = 64;

    /// <summary>Most copies of its rules a narrow cut may make (sum of its children's rules over its own): past it, a
    /// smaller fanout is tried.</summary>
    private const int SpaceFactor = 3;

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

        // Partitions 0 to 15: any-VNI rules of each lane (direction, protocol class, family); then one per (lane, VNI)
        // named by a rule. A rule for both directions or any protocol goes to every lane it covers.
        var partitionOf = new Dictionary<(int, uint), int>();
        var members = new List<List<int>>();
        var laneOf = new List<int>();
        for (int lane = 0; lane < PartitionTable<PartitionRoots>.Lanes; lane++)
        {
            members.Add([]);
            laneOf.Add(lane);
        }
        for (int rank = 0; rank < sorted.Length; rank++)
        {
            ref readonly CompiledRule r = ref sorted[rank];
            bool anyProtocol = r.Lo[AclFields.Protocol] != r.Hi[AclFields.Protocol];
            int firstClass = anyProtocol ? 0 : ProtocolClass((byte)r.Lo[AclFields.Protocol]);
            int lastClass = anyProtocol ? ProtocolClasses - 1 : firstClass;
            // IPv4 queries (both addresses IPv4-mapped) only meet rules whose two prefixes reach into the IPv4 block;
            // the other queries only rules with a prefix reaching outside it.
            bool v4 = InV4Lanes(r);
            bool other = !Within(r, AclFields.Source, V4First, V4Last) || !Within(r, AclFields.Destination, V4First, V4Last);
            for (uint d = (uint)r.Lo[AclFields.Direction]; d <= (uint)r.Hi[AclFields.Direction]; d++)
            {
                for (int c = firstClass; c <= lastClass; c++)
                {
                    for (int family = v4 ? V4Family : OtherFamily; family <= (other ? OtherFamily : V4Family); family++)
                    {
                        int lane = Lane((AclDirection)d, c, family);
                        int partition = lane;
                        if (r.Lo[AclFields.Vni] == r.Hi[AclFields.Vni])
                        {
                            var key = (lane, (uint)r.Lo[AclFields.Vni]);
                            if (!partitionOf.TryGetValue(key, out partition))
                            {
                                partition = members.Count;
                                partitionOf.Add(key, partition);
                                members.Add([]);
                                laneOf.Add(lane);
                            }
                        }
                        members[partition].Add(rank);
                    }
                }
            }
        }

        var builder = new TreeBuilder(sorted);
        int empty = builder.EmptyLeaf;
        var rootOf = new int[members.Count];
        int treeCount = 0;
        for (int p = 0; p < members.Count; p++)
        {
            rootOf[p] = empty;
            if (members[p].Count > 0)
            {
                // An IPv4 lane's tree starts from the IPv4 block, so its address cuts are narrow from the root.
                FieldValues lo = default, hi = AclFields.UniverseHi();
                if ((laneOf[p] & 1) == V4Family)
                {
                    (lo[AclFields.Source], hi[AclFields.Source]) = (V4First, V4Last);
                    (lo[AclFields.Destination], hi[AclFields.Destination]) = (V4First, V4Last);
                }
                rootOf[p] = builder.BuildNode(members[p].ToArray(), lo, hi, 0);
                treeCount++;
            }
        }
        var laneRoots = new PartitionRoots[PartitionTable<PartitionRoots>.Lanes];
        for (int lane = 0; lane < laneRoots.Length; lane++)
            laneRoots[lane] = new PartitionRoots(rootOf[lane], empty);
        var vniRoots = new Dictionary<(int, uint), PartitionRoots>(partitionOf.Count);
        foreach (var (key, p) in partitionOf)
            vniRoots.Add(key, new PartitionRoots(rootOf[p], rootOf[laneOf[p]]));
        for (int k = 0; k < PrefetchedRules; k++)
            builder.Leaves.Add(EmptyLeafCode);
        var ruleEntries = new RuleEntry[sorted.Length];
        var ruleEntriesV4 = new RuleEntryV4[sorted.Length];
        for (int rank = 0; rank < sorted.Length; rank++)
        {
            ruleEntries[rank] = new RuleEntry(sorted[rank]);
            if (InV4Lanes(sorted[rank]))
                ruleEntriesV4[rank] = new RuleEntryV4(sorted[rank]);
        }
        return new AclClassifier(mode, rules.Count, sorted.Length, builder.Nodes.ToArray(), builder.Leaves.ToArray(), ruleEntries, ruleEntriesV4,
            new PartitionTable<PartitionRoots>(vniRoots, laneRoots), treeCount, builder.MaxDepthSeen);
    }

    private const int ProtocolClasses = 4;

    /// <summary>Protocol classes split partitions: TCP, UDP and ICMP each have their own, every other protocol
    /// shares the last (its tree still cuts on the protocol).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int ProtocolClass(byte protocol) =>
        Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(ProtocolClassOf), protocol); // 256 entries: any byte is in range

    // A table rather than a switch: the lookup's protocol varies packet to packet, a branch on it would mispredict.
    private static readonly byte[] ProtocolClassOf = CreateProtocolClasses();

    private static byte[] CreateProtocolClasses()
    {
        var classes = new byte[256];
        classes.AsSpan().Fill(3);
        classes[IpProtocol.Tcp] = 0;
        classes[IpProtocol.Udp] = 1;
        classes[IpProtocol.Icmp] = 2;
        return classes;
    }

    private const int V4Family = 0;
    private const int OtherFamily = 1;

    // The IPv4-mapped block ::ffff:0.0.0.0/96, where every IPv4 address lives.
    private static readonly UInt128 V4First = new(0, 0x0000_FFFF_0000_0000UL);
    private static readonly UInt128 V4Last = new(0, 0x0000_FFFF_FFFF_FFFFUL);

    /// <summary>Lanes split partitions by what every query has exactly one of: direction, protocol class, and address
    /// family (IPv4 when both addresses are IPv4-mapped, else other).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Lane(AclDirection direction, int protocolClass, int family) =>
        ((((int)direction * ProtocolClasses) + protocolClass) << 1) | family;

    private static bool InV4Lanes(in CompiledRule r) =>
        Intersects(r, AclFields.Source, V4First, V4Last) && Intersects(r, AclFields.Destination, V4First, V4Last);

    private static bool Intersects(in CompiledRule r, int f, UInt128 lo, UInt128 hi) => r.Lo[f] <= hi && r.Hi[f] >= lo;

    private static bool Within(in CompiledRule r, int f, UInt128 lo, UInt128 hi) => r.Lo[f] >= lo && r.Hi[f] <= hi;

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

    private sealed class TreeBuilder
    {
        // Direction and VNI are fixed inside a partition: only these fields are cut and checked for cover.
        private static readonly int[] CutFields =
            [AclFields.Source, AclFields.Destination, AclFields.Protocol, AclFields.SourcePort, AclFields.DestinationPort];

        private readonly CompiledRule[] _rules;
        // Replication bound over all trees: past it, remaining nodes become leaves (slower lookups, same answers).
        private readonly long _referenceBudget;
        private UInt128[] _scratch;

        public TreeBuilder(CompiledRule[] rules)
        {
            _rules = rules;
            _referenceBudget = Math.Max(1L << 16, 64L * rules.Length);
            _scratch = new UInt128[Math.Max(16, 2 * rules.Length)];
            EmptyLeaf = MakeLeaf([], 0);
        }

        public List<Node> Nodes { get; } = [];

        /// <summary>A leaf with no rules, the root of an empty tree.</summary>
        public int EmptyLeaf { get; }
        public List<int> Leaves { get; } = [];
        public int MaxDepthSeen { get; private set; }

        /// <summary>Builds the subtree for <paramref name="list"/> (precedence order) in the region [lo, hi];
        /// returns a node reference (see <see cref="Node"/>) or a leaf.</summary>
        public int BuildNode(int[] list, FieldValues lo, FieldValues hi, int depth)
        {
            MaxDepthSeen = Math.Max(MaxDepthSeen, depth);
            int count = list.Length;
            for (int i = 0; i < count; i++)
            {
                if (Covers(_rules[list[i]], lo, hi))
                {
                    count = i + 1;
                    break;
                }
            }
            if (count <= LeafSize || depth >= MaxDepth || Leaves.Count >= _referenceBudget)
                return MakeLeaf(list, count);

            int bestField = -1, bestFanout = 0;
            Splits bestSplits = default;
            int bestMax = int.MaxValue, bestSum = int.MaxValue;
            Span<int> counts = stackalloc int[NarrowNode.Fanout];
            foreach (int f in CutFields)
            {
                // A narrow node cuts into up to eight children for the cost of one line, but more cuts straddle more
                // rules: the widest fanout whose copies stay within SpaceFactor times the node's rules is tried.
                bool narrow = IsNarrow(lo[f], hi[f]);
                for (int fanout = narrow ? NarrowNode.Fanout : Node.Fanout; fanout >= 2; fanout /= 2)
                {
                    if (!TryQuantileBoundaries(list, count, f, lo[f], hi[f], fanout, out Splits splits))
                        break;
                    counts.Clear();
                    for (int i = 0; i < count; i++)
                    {
                        ref readonly CompiledRule r = ref _rules[list[i]];
                        for (int k = 0; k < fanout; k++)
                        {
                            if (InChild(r, f, splits, k, fanout, lo[f], hi[f]))
                                counts[k]++;
                        }
                    }
                    int max = 0, sum = 0;
                    foreach (int c in counts)
                    {
                        max = Math.Max(max, c);
                        sum += c;
                    }
                    if (narrow && fanout > 2 && sum > SpaceFactor * count)
                        continue;
                    if (max < bestMax || (max == bestMax && sum < bestSum))
                    {
                        (bestField, bestFanout, bestSplits, bestMax, bestSum) = (f, fanout, splits, max, sum);
                    }
                    break;
                }
            }
            // A cut that leaves every rule in one child makes no progress; an uncovered region always has an
            // inner boundary in theory, so this is a safe stop only.
            if (bestField < 0 || bestMax >= count)
                return MakeLeaf(list, count);

            int index = Nodes.Count;
            Nodes.Add(default);
            // Unused children are empty and their splits the region's end, which no query in the region is above.
            Children children = default;
            for (int k = bestFanout; k < NarrowNode.Fanout; k++)
            {
                children[k] = EmptyLeaf;
                bestSplits[k - 1] = hi[bestField];
            }
            for (int k = 0; k < bestFanout; k++)
            {
                var childList = new List<int>(bestMax);
                for (int i = 0; i < count; i++)
                {
                    if (InChild(_rules[list[i]], bestField, bestSplits, k, bestFanout, lo[bestField], hi[bestField]))
                        childList.Add(list[i]);
                }
                FieldValues childLo = lo, childHi = hi;
                if (k > 0)
                    childLo[bestField] = bestSplits[k - 1] + 1;
                if (k < bestFanout - 1)
                    childHi[bestField] = bestSplits[k];
                // Equal splits leave an empty region no query reaches.
                children[k] = childLo[bestField] > childHi[bestField]
                    ? EmptyLeaf
                    : BuildNode(childList.ToArray(), childLo, childHi, depth + 1);
            }
            if (IsNarrow(lo[bestField], hi[bestField]))
            {
                var narrow = new NarrowNode(bestSplits, children);
                Nodes[index] = Unsafe.As<NarrowNode, Node>(ref narrow);
                return Node.Reference(index, PairOf(bestField) + 1);
            }
            Nodes[index] = new Node(bestSplits, children);
            return Node.Reference(index, PairOf(bestField));
        }

        /// <summary>True when every value of [lo, hi] has the same bits above the lowest 32, so a
        /// <see cref="NarrowNode"/> can cut it.</summary>
        private static bool IsNarrow(UInt128 lo, UInt128 hi) => lo >> 32 == hi >> 32;

        /// <summary>True when rule <paramref name="r"/> overlaps child <paramref name="k"/>'s part of field
        /// <paramref name="f"/>: (split k−1, split k], the first and last children open to the region's ends.</summary>
        private static bool InChild(in CompiledRule r, int f, in Splits splits, int k, int fanout, UInt128 lo, UInt128 hi)
        {
            UInt128 childLo = k == 0 ? lo : splits[k - 1] + 1;
            UInt128 childHi = k == fanout - 1 ? hi : splits[k];
            return childLo <= childHi && r.Lo[f] <= childHi && r.Hi[f] >= childLo;
        }

        /// <summary>The <paramref name="fanout"/>-quantiles of the rule edges strictly inside (lo, hi) on field
        /// <paramref name="f"/>, as cuts "value ≤ split"; false when no rule edge falls inside the region.</summary>
        private bool TryQuantileBoundaries(int[] list, int count, int f, UInt128 lo, UInt128 hi, int fanout, out Splits splits)
        {
            splits = default;
            if (_scratch.Length < 2 * count)
                _scratch = new UInt128[2 * count];
            int n = 0;
            for (int i = 0; i < count; i++)
            {
                ref readonly CompiledRule r = ref _rules[list[i]];
                if (r.Lo[f] > lo)
                    _scratch[n++] = r.Lo[f] - 1;
                if (r.Hi[f] < hi)
                    _scratch[n++] = r.Hi[f];
            }
            if (n == 0)
                return false;
            var edges = _scratch.AsSpan(0, n);
            edges.Sort();
            for (int k = 0; k < fanout - 1; k++)
                splits[k] = edges[n * (k + 1) / fanout];
            return true;
        }

        /// <summary>The pair of query words (upper, lower half) a node on field <paramref name="f"/> compares.</summary>
        private static int PairOf(int f) => f switch
        {
            AclFields.Source => Word.Source,
            AclFields.Destination => Word.Destination,
            AclFields.Protocol => Word.Protocol,
            AclFields.SourcePort => Word.SourcePort,
            _ => Word.DestinationPort,
        };

        private static bool Covers(in CompiledRule r, in FieldValues lo, in FieldValues hi)
        {
            foreach (int f in CutFields)
            {
                if (r.Lo[f] > lo[f] || r.Hi[f] < hi[f])
                    return false;
            }
            return true;
        }

        private int MakeLeaf(int[] list, int count)
        {
            int start = Leaves.Count;
            for (int i = 0; i < count; i++)
                Leaves.Add(LeafCode(list[i], last: i == count - 1));
            if (count == 0)
                Leaves.Add(EmptyLeafCode);
            return ~start;
        }
    }
}
