using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Offload.Classification;

/// <summary>
/// The ACL fast classifier (claim C6, goal P6): answers exactly what <see cref="LinearAclClassifier"/>
/// answers without testing every rule. Immutable and thread-safe once built; classification does not
/// allocate.
/// </summary>
/// <remarks>
/// <para>Partitions: a query has one direction, one protocol and one VNI, and most rules name all three, so
/// rules are first split by lane — (direction, protocol class: TCP, UDP, ICMP, other) — and VNI; a rule for
/// both directions or any protocol goes to every lane it covers, and rules for any VNI to one partition per
/// lane. A query finds its (lane, VNI) in an open-addressing table whose slot holds the roots of the two trees
/// it walks: its partition's own and its lane's any-VNI tree.</para>
/// <para>Trees: HyperCuts-style decision trees over the remaining fields (source and destination address as
/// 128-bit integers, protocol, source and destination port). Every rule is a box of inclusive ranges — a
/// prefix is the range [first, last], "any" the whole field, a port range itself — so port ranges cost
/// nothing extra. A rule with port lists is expanded into one box per (source range, destination range)
/// pair. A node cuts one field at three splits into four children (one 64-byte node per level).</para>
/// <para>Build: each node holds the rules that intersect its region, in precedence order. Rules after
/// the first one that covers the whole region can never win there and are cut. A node with at most
/// <see cref="LeafSize"/> rules becomes a leaf; otherwise, for each field, the quartiles of the rule
/// boundaries inside the region are candidate splits, and the field whose largest child is smallest wins.
/// Rules straddling a split go to both sides (replication); a depth cap and a global budget of rule
/// references bound the memory, turning nodes into (longer) leaves instead — slower, never wrong.</para>
/// <para>Lookup: both trees are walked in one loop so that their cache misses overlap; each level picks the
/// child by counting the splits below the value (no branch to mispredict). Then each leaf's few entries
/// are tested in precedence order, without a branch per field, until the first that matches or cannot beat
/// the best so far. Nodes and leaf entries live in two flat arrays of structs: no object per node or leaf.</para>
/// </remarks>
public sealed partial class AclClassifier : IAclClassifier
{
    /// <summary>A node with this many rules or fewer becomes a leaf.</summary>
    internal const int LeafSize = 5;

    private readonly CacheAlignedArray<Node> _nodes;
    private readonly CacheAlignedArray<LeafEntry> _entries;
    // The answer of each expanded rule, by rank (position in precedence order).
    private readonly AclMatch[] _byRank;
    private readonly PartitionTable<PartitionRoots> _partitions;
    private readonly AclMatch _default;

    private AclClassifier(AclMode mode, int ruleCount, int expandedRuleCount, Node[] nodes, LeafEntry[] entries,
        AclMatch[] byRank, PartitionTable<PartitionRoots> partitions, int treeCount, int depth)
    {
        Mode = mode;
        RuleCount = ruleCount;
        ExpandedRuleCount = expandedRuleCount;
        // The walk may read node 0 even when every tree is a single leaf.
        _nodes = new CacheAlignedArray<Node>(nodes.Length == 0 ? [default] : nodes);
        NodeCount = nodes.Length;
        _entries = new CacheAlignedArray<LeafEntry>(entries);
        _byRank = byRank;
        _partitions = partitions;
        TreeCount = treeCount;
        Depth = depth;
        _default = AclMatch.DefaultFor(mode);
    }

    /// <inheritdoc/>
    public AclMode Mode { get; }

    /// <inheritdoc/>
    public int RuleCount { get; }

    /// <summary>Rules after port-list expansion.</summary>
    internal int ExpandedRuleCount { get; }

    /// <summary>Number of trees (non-empty partitions).</summary>
    internal int TreeCount { get; }

    /// <summary>Inner nodes of all trees.</summary>
    internal int NodeCount { get; }

    /// <summary>Leaf entries of all trees (replication measure).</summary>
    internal int LeafRuleReferences => _entries.Length;

    /// <summary>Deepest leaf of any tree.</summary>
    internal int Depth { get; }

    /// <summary>Bytes held by the lookup structure's arrays (nodes, leaf entries, answers, partition table).</summary>
    internal long MemoryBytes =>
        _nodes.MemoryBytes + _entries.MemoryBytes
        + (long)_byRank.Length * Unsafe.SizeOf<AclMatch>()
        + _partitions.MemoryBytes;

    /// <inheritdoc/>
    public AclMatch Classify(in AclQuery query)
    {
        // A query direction other than ingress/egress matches no rule.
        if ((uint)query.Direction > (uint)AclDirection.Egress)
            return _default;
        PartitionRoots roots = _partitions.Find(Lane(query.Direction, ProtocolClass(query.Protocol)), query.Vni);
        QueryWords w = default;
        w[Word.Source] = query.SrcIp.Hi;
        w[Word.Source + 1] = query.SrcIp.Lo;
        w[Word.Destination] = query.DstIp.Hi;
        w[Word.Destination + 1] = query.DstIp.Lo;
        w[Word.Protocol + 1] = query.Protocol;
        w[Word.SourcePort + 1] = query.SrcPort;
        w[Word.DestinationPort + 1] = query.DstPort;
        ref ulong words = ref w[0];

        // Both trees are walked in the same loop so that their cache misses overlap; a walk that reached its
        // leaf waits for the other.
        ref Node nodes = ref _nodes.First;
        int a = roots.Own, b = roots.AnyVni;
        while ((a & b) >= 0)
        {
            // A walk already at its leaf steps from node 0 (there is always one) and keeps its leaf: a select, not
            // a branch that would mispredict where the two depths differ.
            int nextA = Step(ref nodes, a & ~(a >> 31), ref words);
            int nextB = Step(ref nodes, b & ~(b >> 31), ref words);
            a = a < 0 ? a : nextA;
            b = b < 0 ? b : nextB;
        }

        ref LeafEntry entries = ref _entries.First;
        int bestRank = int.MaxValue;
        int found = Scan(ref entries, ~a, ref words, ref bestRank);
        int other = Scan(ref entries, ~b, ref words, ref bestRank);
        if (other >= 0)
            found = other;
        if (found < 0)
            return _default;
        return _byRank[Unsafe.Add(ref entries, found).Rank];
    }

    /// <summary>One level down: the child reference of node <paramref name="reference"/> the query falls in.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Step(ref Node nodes, int reference, ref ulong words)
    {
        // Node references come from the builder and are in range by construction.
        ref Node node = ref Unsafe.Add(ref nodes, reference >> Node.PairBits);
        int pair = reference & Node.PairMask;
        ulong hi = Unsafe.Add(ref words, pair), lo = Unsafe.Add(ref words, pair + 1);
        // The child is the number of splits below the value: indexing by it, rather than branching, avoids
        // mispredicts, since the descent's direction is random from the predictor's point of view.
        bool above0 = hi > node.S0Hi | (hi == node.S0Hi & lo > node.S0Lo);
        bool above1 = hi > node.S1Hi | (hi == node.S1Hi & lo > node.S1Lo);
        bool above2 = hi > node.S2Hi | (hi == node.S2Hi & lo > node.S2Lo);
        int child = Unsafe.As<bool, byte>(ref above0) + Unsafe.As<bool, byte>(ref above1) + Unsafe.As<bool, byte>(ref above2);
        return Unsafe.Add(ref Unsafe.AsRef(in node.C0), child);
    }

    /// <summary>Scans the leaf starting at <paramref name="start"/> for the first rule matching and ranking before
    /// <paramref name="bestRank"/>; returns its entry index (and lowers <paramref name="bestRank"/>) or −1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Scan(ref LeafEntry entries, int start, ref ulong words, ref int bestRank)
    {
        for (int i = start; ; i++)
        {
            ref LeafEntry entry = ref Unsafe.Add(ref entries, i);
            if (entry.Rank >= bestRank)
                return -1;
            if (entry.Matches(ref words))
            {
                bestRank = entry.Rank;
                return i;
            }
            if (entry.Last)
                return -1;
        }
    }

    /// <summary>The roots of the two trees a partition's query walks: its own rules and its direction's any-VNI
    /// rules (an any-VNI partition's second tree is empty). A root is a node reference or a leaf.</summary>
    private readonly struct PartitionRoots(int own, int anyVni)
    {
        public readonly int Own = own;
        public readonly int AnyVni = anyVni;
    }

    /// <summary>The query as pairs of 64-bit words (upper, lower half), so every field compares the same way as
    /// a 128-bit value: addresses fill both halves, protocol and ports the lower one. A pair's number is the index
    /// of its upper half.</summary>
    private static class Word
    {
        public const int Source = 0;
        public const int Destination = 2;
        public const int Protocol = 4;
        public const int SourcePort = 6;
        public const int DestinationPort = 8;
        public const int Count = 10;
    }

    [InlineArray(Word.Count)]
    private struct QueryWords
    {
        private ulong _element;
    }

    /// <summary>An inner node, 64 bytes: three ascending splits (128-bit, as two halves) cut one field into four
    /// children. A reference to a node is its index shifted left by <see cref="PairBits"/> with the node's pair
    /// number in the low bits, so the query word can be loaded while the node is; a leaf is referenced by the
    /// complement of its first entry.</summary>
    private readonly struct Node
    {
        public const int Fanout = 4;
        public const int PairBits = 4;
        public const int PairMask = (1 << PairBits) - 1;

        public readonly ulong S0Hi, S0Lo, S1Hi, S1Lo, S2Hi, S2Lo;
        // C0 to C3 are adjacent: the lookup indexes them by the comparisons' outcome.
        public readonly int C0, C1, C2, C3;

        public Node(in Splits splits, in Children children)
        {
            (S0Hi, S0Lo) = ((ulong)(splits[0] >> 64), (ulong)splits[0]);
            (S1Hi, S1Lo) = ((ulong)(splits[1] >> 64), (ulong)splits[1]);
            (S2Hi, S2Lo) = ((ulong)(splits[2] >> 64), (ulong)splits[2]);
            (C0, C1, C2, C3) = (children[0], children[1], children[2], children[3]);
        }

        public static int Reference(int index, int pair) => (index << PairBits) | pair;
    }

    [InlineArray(Node.Fanout - 1)]
    private struct Splits
    {
        private UInt128 _element;
    }

    [InlineArray(Node.Fanout)]
    private struct Children
    {
        private int _element;
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

    /// <summary>A rule in the form tested at the leaves, one 64-byte cache line: each address a prefix as value and length per
    /// 64-bit half, ports and protocol as (low, span), all tested without a branch per field. Direction and VNI
    /// are not kept (the partition implies them), nor the rule's id and action (looked up by rank on a match).</summary>
    [StructLayout(LayoutKind.Sequential, Size = 64)]
    private readonly struct LeafEntry
    {
        private readonly ulong _srcHi, _srcLo, _dstHi, _dstLo;
        public readonly int Rank;
        private readonly ushort _sportLo, _sportSpan, _dportLo, _dportSpan;
        private readonly byte _protoLo, _protoSpan;
        private readonly byte _srcHiLength, _srcLoLength, _dstHiLength, _dstLoLength;
        /// <summary>The leaf's last entry.</summary>
        public readonly bool Last;

        /// <summary>The one entry of a leaf without rules: its rank stops the scan whatever the best so far.</summary>
        public static LeafEntry Empty => new(rank: int.MaxValue);

        private LeafEntry(int rank)
        {
            Rank = rank;
            Last = true;
        }

        public LeafEntry(in CompiledRule r, int rank, bool last)
        {
            Rank = rank;
            Last = last;
            (_srcHi, _srcLo, _srcHiLength, _srcLoLength) = PrefixOf(r.Lo[AclFields.Source], r.Hi[AclFields.Source]);
            (_dstHi, _dstLo, _dstHiLength, _dstLoLength) = PrefixOf(r.Lo[AclFields.Destination], r.Hi[AclFields.Destination]);
            _sportLo = (ushort)r.Lo[AclFields.SourcePort];
            _sportSpan = (ushort)(r.Hi[AclFields.SourcePort] - r.Lo[AclFields.SourcePort]);
            _dportLo = (ushort)r.Lo[AclFields.DestinationPort];
            _dportSpan = (ushort)(r.Hi[AclFields.DestinationPort] - r.Lo[AclFields.DestinationPort]);
            _protoLo = (byte)r.Lo[AclFields.Protocol];
            _protoSpan = (byte)(r.Hi[AclFields.Protocol] - r.Lo[AclFields.Protocol]);
        }

        /// <summary>Address ranges come from prefixes: [first, last] is first with a prefix length of
        /// 128 − log2(last − first + 1), split over the two halves.</summary>
        private static (ulong Hi, ulong Lo, byte HiLength, byte LoLength) PrefixOf(UInt128 first, UInt128 last)
        {
            int length = (int)UInt128.LeadingZeroCount(last - first);
            return ((ulong)(first >> 64), (ulong)first, (byte)Math.Min(length, 64), (byte)Math.Max(length - 64, 0));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool Matches(ref ulong w)
        {
            ref ulong masks = ref MemoryMarshal.GetArrayDataReference(PrefixMasks);
            // Non-short-circuit operators on purpose: one hard-to-predict branch per entry instead of one per field.
            // Lengths are at most 64 by construction, inside the 65-entry mask table.
            ulong addressMiss = ((Unsafe.Add(ref w, Word.Source) ^ _srcHi) & Unsafe.Add(ref masks, _srcHiLength))
                | ((Unsafe.Add(ref w, Word.Source + 1) ^ _srcLo) & Unsafe.Add(ref masks, _srcLoLength))
                | ((Unsafe.Add(ref w, Word.Destination) ^ _dstHi) & Unsafe.Add(ref masks, _dstHiLength))
                | ((Unsafe.Add(ref w, Word.Destination + 1) ^ _dstLo) & Unsafe.Add(ref masks, _dstLoLength));
            return (addressMiss == 0)
                & ((uint)Unsafe.Add(ref w, Word.DestinationPort + 1) - _dportLo <= _dportSpan)
                & ((uint)Unsafe.Add(ref w, Word.SourcePort + 1) - _sportLo <= _sportSpan)
                & ((uint)Unsafe.Add(ref w, Word.Protocol + 1) - _protoLo <= _protoSpan);
        }

        /// <summary>The mask of a prefix of each length 0 to 64 over a 64-bit half.</summary>
        private static readonly ulong[] PrefixMasks = CreatePrefixMasks();

        private static ulong[] CreatePrefixMasks()
        {
            var masks = new ulong[65];
            for (int length = 1; length <= 64; length++)
                masks[length] = ulong.MaxValue << (64 - length);
            return masks;
        }
    }
}
