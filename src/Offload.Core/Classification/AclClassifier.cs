using System.Runtime.CompilerServices;

namespace Offload.Classification;

/// <summary>
/// The ACL fast classifier (claim C6, goal P6): answers exactly what <see cref="LinearAclClassifier"/>
/// answers without testing every rule. Immutable and thread-safe once built; classification does not
/// allocate.
/// </summary>
/// <remarks>
/// <para>Structure: a HyperSplit-style binary decision tree over the seven match fields (direction, VNI,
/// source and destination address as 128-bit integers, protocol, source and destination port). Every
/// rule is a box of inclusive ranges — a prefix is the range [first, last], "any" the whole field, a
/// port range itself — so port ranges cost nothing extra (the usual weak spot of tuple-space search,
/// where a range expands into many prefixes). A rule with port lists is expanded into one box per
/// (source range, destination range) pair.</para>
/// <para>Build: each node holds the rules that intersect its region, in precedence order. Rules after
/// the first one that covers the whole region can never win there and are cut. A node with at most
/// <see cref="LeafSize"/> rules becomes a leaf; otherwise, for each field, the median of the rule
/// boundaries inside the region is a candidate cut, and the cut leaving the smallest larger half wins.
/// Rules straddling the cut go to both children (replication); a depth cap and a global budget of rule
/// references bound the memory, turning nodes into (longer) leaves instead — slower, never wrong.</para>
/// <para>Partitioning (as in EffiCuts): rules that are wide in the fields a tree cuts would be copied
/// into almost every leaf, so rules wide in both addresses (each shorter than /16 for IPv4 or /64 for
/// IPv6) and rules for any VNI are kept apart from the rest: at most four trees. (Eight groups, one per
/// wide field, cut replication further but cost more in lookups than they saved.)</para>
/// <para>Lookup: the trees are visited in order of the best rule they hold; in each, one comparison per
/// level down to a leaf, then the leaf's few rules in precedence order (the first match is that tree's
/// answer). A tree whose best rule cannot beat the answer so far is skipped, and so are all after it.</para>
/// </remarks>
public sealed partial class AclClassifier : IAclClassifier
{
    /// <summary>A node with this many rules or fewer becomes a leaf.</summary>
    internal const int LeafSize = 8;

    private readonly Tree[] _trees;
    private readonly AclMatch _default;

    private AclClassifier(AclMode mode, int ruleCount, int expandedRuleCount, Tree[] trees)
    {
        Mode = mode;
        RuleCount = ruleCount;
        ExpandedRuleCount = expandedRuleCount;
        _trees = trees;
        _default = AclMatch.DefaultFor(mode);
    }

    /// <inheritdoc/>
    public AclMode Mode { get; }

    /// <inheritdoc/>
    public int RuleCount { get; }

    /// <summary>Rules after port-list expansion.</summary>
    internal int ExpandedRuleCount { get; }

    /// <summary>Number of partition trees.</summary>
    internal int TreeCount => _trees.Length;

    /// <summary>Inner nodes of all trees.</summary>
    internal int NodeCount { get { int n = 0; foreach (var t in _trees) n += t.Nodes.Length; return n; } }

    /// <summary>Rule references held by all leaves (replication measure).</summary>
    internal int LeafRuleReferences { get { int n = 0; foreach (var t in _trees) n += t.Entries.Length; return n; } }

    /// <summary>Deepest leaf of any tree.</summary>
    internal int Depth { get { int n = 0; foreach (var t in _trees) n = Math.Max(n, t.Depth); return n; } }

    /// <inheritdoc/>
    public AclMatch Classify(in AclQuery query)
    {
        FieldValues v = default;
        AclFields.FromQuery(query, ref v);
        int bestRank = int.MaxValue;
        AclMatch best = _default;
        foreach (Tree tree in _trees)
        {
            // Trees are ordered by their best rank: once one cannot win, none after it can.
            if (tree.BestRank >= bestRank)
                break;
            Node[] nodes = tree.Nodes;
            int n = tree.Root;
            while (n >= 0)
            {
                ref readonly Node node = ref nodes[n];
                n = v[node.Field] <= node.Split ? node.Left : node.Right;
            }
            Leaf leaf = tree.Leaves[~n];
            // Leaf entries are stored in leaf order (copied, not referenced) so a leaf is one sequential read.
            foreach (ref readonly LeafEntry entry in tree.Entries.AsSpan(leaf.Start, leaf.End - leaf.Start))
            {
                if (entry.Rank >= bestRank)
                    break;
                if (entry.Matches(query, v[AclFields.Source], v[AclFields.Destination]))
                {
                    bestRank = entry.Rank;
                    best = new AclMatch(entry.Action, entry.Id);
                    break;
                }
            }
        }
        return best;
    }

    private sealed class Tree(Node[] nodes, Leaf[] leaves, LeafEntry[] entries, int root, int bestRank, int depth)
    {
        public readonly Node[] Nodes = nodes;
        public readonly Leaf[] Leaves = leaves;
        public readonly LeafEntry[] Entries = entries;
        public readonly int Root = root;
        public readonly int BestRank = bestRank;
        public readonly int Depth = depth;
    }

    private readonly struct Node(int field, UInt128 split, int left, int right)
    {
        public readonly UInt128 Split = split;
        public readonly int Left = left;
        public readonly int Right = right;
        public readonly int Field = field;
    }

    private readonly struct Leaf(int start, int end)
    {
        public readonly int Start = start;
        public readonly int End = end;
    }

    /// <summary>A rule box as the builder sees it: one [lo, hi] per field.</summary>
    private struct CompiledRule
    {
        public FieldValues Lo;
        public FieldValues Hi;
        public int Priority;
        public int Id;
        public AclAction Action;
    }

    /// <summary>A rule box in the compact form tested at the leaves: typed fields, no indexing.</summary>
    private readonly struct LeafEntry
    {
        private readonly UInt128 _srcLo, _srcHi, _dstLo, _dstHi;
        private readonly uint _vniLo, _vniHi;
        private readonly ushort _sportLo, _sportHi, _dportLo, _dportHi;
        private readonly byte _dirLo, _dirHi, _protoLo, _protoHi;
        public readonly int Id;
        public readonly int Rank;
        public readonly AclAction Action;

        public LeafEntry(in CompiledRule r, int rank)
        {
            Rank = rank;
            _srcLo = r.Lo[AclFields.Source];
            _srcHi = r.Hi[AclFields.Source];
            _dstLo = r.Lo[AclFields.Destination];
            _dstHi = r.Hi[AclFields.Destination];
            _vniLo = (uint)r.Lo[AclFields.Vni];
            _vniHi = (uint)r.Hi[AclFields.Vni];
            _sportLo = (ushort)r.Lo[AclFields.SourcePort];
            _sportHi = (ushort)r.Hi[AclFields.SourcePort];
            _dportLo = (ushort)r.Lo[AclFields.DestinationPort];
            _dportHi = (ushort)r.Hi[AclFields.DestinationPort];
            _dirLo = (byte)r.Lo[AclFields.Direction];
            _dirHi = (byte)r.Hi[AclFields.Direction];
            _protoLo = (byte)r.Lo[AclFields.Protocol];
            _protoHi = (byte)r.Hi[AclFields.Protocol];
            Id = r.Id;
            Action = r.Action;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool Matches(in AclQuery q, UInt128 src, UInt128 dst) =>
            (uint)q.DstPort - _dportLo <= (uint)(_dportHi - _dportLo)
            && (uint)q.SrcPort - _sportLo <= (uint)(_sportHi - _sportLo)
            && (uint)q.Protocol - _protoLo <= (uint)(_protoHi - _protoLo)
            && q.Vni - _vniLo <= _vniHi - _vniLo
            && (uint)q.Direction - _dirLo <= (uint)(_dirHi - _dirLo)
            && src >= _srcLo && src <= _srcHi && dst >= _dstLo && dst <= _dstHi;
    }
}
