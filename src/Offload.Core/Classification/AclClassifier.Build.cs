using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

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

        // Partitions 0 to 7: any-VNI rules of each lane (direction, protocol class); then one per (lane, VNI)
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
            for (uint d = (uint)r.Lo[AclFields.Direction]; d <= (uint)r.Hi[AclFields.Direction]; d++)
            {
                for (int c = firstClass; c <= lastClass; c++)
                {
                    int lane = Lane((AclDirection)d, c);
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

        var builder = new TreeBuilder(sorted);
        int empty = builder.EmptyLeaf;
        var rootOf = new int[members.Count];
        int treeCount = 0;
        for (int p = 0; p < members.Count; p++)
        {
            rootOf[p] = empty;
            if (members[p].Count > 0)
            {
                rootOf[p] = builder.BuildNode(members[p].ToArray(), default, AclFields.UniverseHi(), 0);
                treeCount++;
            }
        }
        var byRank = new AclMatch[sorted.Length];
        for (int rank = 0; rank < sorted.Length; rank++)
            byRank[rank] = new AclMatch(sorted[rank].Action, sorted[rank].Id);
        var laneRoots = new PartitionRoots[PartitionTable<PartitionRoots>.Lanes];
        for (int lane = 0; lane < laneRoots.Length; lane++)
            laneRoots[lane] = new PartitionRoots(rootOf[lane], empty);
        var vniRoots = new Dictionary<(int, uint), PartitionRoots>(partitionOf.Count);
        foreach (var (key, p) in partitionOf)
            vniRoots.Add(key, new PartitionRoots(rootOf[p], rootOf[laneOf[p]]));
        return new AclClassifier(mode, rules.Count, sorted.Length, builder.Nodes.ToArray(), builder.Entries.ToArray(),
            byRank, new PartitionTable<PartitionRoots>(vniRoots, laneRoots), treeCount, builder.MaxDepthSeen);
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

    private static int Lane(AclDirection direction, int protocolClass) => (int)direction * ProtocolClasses + protocolClass;

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
        public List<LeafEntry> Entries { get; } = [];
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
            if (count <= LeafSize || depth >= MaxDepth || Entries.Count >= _referenceBudget)
                return MakeLeaf(list, count);

            int bestField = -1;
            Splits bestSplits = default;
            int bestMax = int.MaxValue, bestSum = int.MaxValue;
            Span<int> counts = stackalloc int[Node.Fanout];
            foreach (int f in CutFields)
            {
                if (!TryQuartileBoundaries(list, count, f, lo[f], hi[f], out Splits splits))
                    continue;
                counts.Clear();
                for (int i = 0; i < count; i++)
                {
                    ref readonly CompiledRule r = ref _rules[list[i]];
                    for (int k = 0; k < Node.Fanout; k++)
                    {
                        if (InChild(r, f, splits, k, lo[f], hi[f]))
                            counts[k]++;
                    }
                }
                int max = 0, sum = 0;
                foreach (int c in counts)
                {
                    max = Math.Max(max, c);
                    sum += c;
                }
                if (max < bestMax || (max == bestMax && sum < bestSum))
                {
                    (bestField, bestSplits, bestMax, bestSum) = (f, splits, max, sum);
                }
            }
            // A cut that leaves every rule in one child makes no progress; an uncovered region always has an
            // inner boundary in theory, so this is a safe stop only.
            if (bestField < 0 || bestMax >= count)
                return MakeLeaf(list, count);

            int index = Nodes.Count;
            Nodes.Add(default);
            Children children = default;
            for (int k = 0; k < Node.Fanout; k++)
            {
                var childList = new List<int>(bestMax);
                for (int i = 0; i < count; i++)
                {
                    if (InChild(_rules[list[i]], bestField, bestSplits, k, lo[bestField], hi[bestField]))
                        childList.Add(list[i]);
                }
                FieldValues childLo = lo, childHi = hi;
                if (k > 0)
                    childLo[bestField] = bestSplits[k - 1] + 1;
                if (k < Node.Fanout - 1)
                    childHi[bestField] = bestSplits[k];
                // Equal splits leave an empty region no query reaches.
                children[k] = childLo[bestField] > childHi[bestField]
                    ? EmptyLeaf
                    : BuildNode(childList.ToArray(), childLo, childHi, depth + 1);
            }
            Nodes[index] = new Node(bestSplits, children);
            return Node.Reference(index, PairOf(bestField));
        }

        /// <summary>True when rule <paramref name="r"/> overlaps child <paramref name="k"/>'s part of field
        /// <paramref name="f"/>: (split k−1, split k], the first and last children open to the region's ends.</summary>
        private static bool InChild(in CompiledRule r, int f, in Splits splits, int k, UInt128 lo, UInt128 hi)
        {
            UInt128 childLo = k == 0 ? lo : splits[k - 1] + 1;
            UInt128 childHi = k == Node.Fanout - 1 ? hi : splits[k];
            return childLo <= childHi && r.Lo[f] <= childHi && r.Hi[f] >= childLo;
        }

        /// <summary>The quartiles of the rule edges strictly inside (lo, hi) on field <paramref name="f"/>, as cuts
        /// "value ≤ split"; false when no rule edge falls inside the region.</summary>
        private bool TryQuartileBoundaries(int[] list, int count, int f, UInt128 lo, UInt128 hi, out Splits splits)
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
            for (int k = 0; k < Node.Fanout - 1; k++)
                splits[k] = edges[n * (k + 1) / Node.Fanout];
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
            int start = Entries.Count;
            for (int i = 0; i < count; i++)
                Entries.Add(new LeafEntry(_rules[list[i]], list[i], last: i == count - 1));
            if (count == 0)
                Entries.Add(LeafEntry.Empty);
            return ~start;
        }
    }
}
