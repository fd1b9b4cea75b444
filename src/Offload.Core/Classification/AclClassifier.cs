using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Runtime.InteropServices;

using Offload.Packets;

namespace Offload.Classification;

/// <summary>
/// The ACL fast classifier (claim C6, goal P6): answers exactly what <see cref="LinearAclClassifier"/>
/// answers without testing every rule. Immutable and thread-safe once built; classification does not
/// allocate.
/// </summary>
/// <remarks>
/// <para>Partitions: a query has one direction, one protocol, one address family and one VNI, and most rules name
/// all of them, so rules are first split by lane — (direction, protocol class: TCP, UDP, ICMP, other; family: IPv4
/// when both addresses are IPv4-mapped, other) — and VNI; a rule for both directions, any protocol, or with a prefix
/// reaching both into and out of the IPv4 block goes to every lane it covers, and rules for any VNI to one
/// partition per lane. A query finds its (lane, VNI) in an open-addressing table whose slot holds the roots of the
/// two trees it walks: its partition's own and its lane's any-VNI tree.</para>
/// <para>Trees: HyperCuts-style decision trees over the remaining fields (source and destination address as
/// 128-bit integers, protocol, source and destination port). Every rule is a box of inclusive ranges — a
/// prefix is the range [first, last], "any" the whole field, a port range itself — so port ranges cost
/// nothing extra. A rule with port lists is expanded into one box per (source range, destination range)
/// pair. A field whose region spans more than 2^32 values is cut by a wide node (three 128-bit splits, four
/// children); inside one aligned 2^32 block — ports, protocol, and addresses in IPv4 lanes, whose trees start
/// from the IPv4 block — by a narrow node (up to seven 32-bit splits, eight children, one vector compare). Either
/// is one 64-byte line per level.</para>
/// <para>Build: each node holds the rules that intersect its region, in precedence order. Rules after
/// the first one that covers the whole region can never win there and are cut. A node with at most
/// <see cref="LeafSize"/> rules becomes a leaf; otherwise, for each field, the quantiles of the rule
/// boundaries inside the region are candidate splits (for a narrow field the widest fanout that copies the
/// node's rules at most SpaceFactor times), and the field whose largest child is smallest wins.
/// Rules straddling a split go to both sides (replication); a depth cap and a global budget of rule
/// references bound the memory, turning nodes into (longer) leaves instead — slower, never wrong.</para>
/// <para>Lookup: both trees are walked in one loop so that their cache misses overlap; each level picks the
/// child by counting the splits below the value (no branch to mispredict). A leaf is a run of rule ranks
/// (precedence positions) into one array holding each rule once — 64 bytes, and 32 bytes clipped to IPv4 for
/// the IPv4 lanes — so the hot data stays small (about 1.4 MB for 10,000 rules instead of a copy per leaf).
/// Both leaves' first rules are prefetched together, then tested in precedence order, without a branch per
/// field, until the first that matches or cannot beat the best so far (its rank, read from the leaf, decides
/// before the rule is loaded). Nodes, leaves and rules live in flat arrays of structs: no object per node or
/// leaf.</para>
/// </remarks>
public sealed partial class AclClassifier : IAclClassifier
{
    /// <summary>A node with this many rules or fewer becomes a leaf.</summary>
    internal const int LeafSize = 8;

    private readonly CacheAlignedArray<Node> _nodes;
    // Leaves: runs of rule ranks (position in precedence order), the last of a run with the top bit set.
    private readonly CacheAlignedArray<int> _leaves;
    // Each expanded rule once, by rank: leaves share them instead of holding copies, which keeps the hot data small.
    private readonly CacheAlignedArray<RuleEntry> _rules;
    // The same rules clipped to the IPv4 block in 32 bytes, two to a line, for the IPv4 lanes' scans (most traffic).
    private readonly CacheAlignedArray<RuleEntryV4> _rulesV4;
    private readonly PartitionTable<PartitionRoots> _partitions;
    private readonly AclMatch _default;

    private AclClassifier(AclMode mode, int ruleCount, int expandedRuleCount, Node[] nodes, int[] leaves, RuleEntry[] rules, RuleEntryV4[] rulesV4,
        PartitionTable<PartitionRoots> partitions, int treeCount, int depth)
    {
        Mode = mode;
        RuleCount = ruleCount;
        ExpandedRuleCount = expandedRuleCount;
        // The walk may read node 0 even when every tree is a single leaf.
        _nodes = new CacheAlignedArray<Node>(nodes.Length == 0 ? [default] : nodes);
        NodeCount = nodes.Length;
        _leaves = new CacheAlignedArray<int>(leaves);
        _rules = new CacheAlignedArray<RuleEntry>(rules);
        _rulesV4 = new CacheAlignedArray<RuleEntryV4>(rulesV4);
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
    internal int LeafRuleReferences => _leaves.Length - PrefetchedRules;

    /// <summary>Deepest leaf of any tree.</summary>
    internal int Depth { get; }

    /// <summary>Bytes held by the lookup structure's arrays (nodes, leaves, rules, partition table).</summary>
    internal long MemoryBytes =>
        _nodes.MemoryBytes + _leaves.MemoryBytes + _rules.MemoryBytes + _rulesV4.MemoryBytes
        + _partitions.MemoryBytes;

    /// <inheritdoc/>
    public AclMatch Classify(in AclQuery query)
    {
        // A query direction other than ingress/egress matches no rule.
        if ((uint)query.Direction > (uint)AclDirection.Egress)
            return _default;
        NetAddress src = query.SrcIp, dst = query.DstIp;
        // Branch-free family: the traffic mix decides it packet by packet.
        bool v4 = src.IsV4 & dst.IsV4;
        int family = OtherFamily - Unsafe.As<bool, byte>(ref v4);
        PartitionRoots roots = _partitions.Find(Lane(query.Direction, ProtocolClass(query.Protocol), family), query.Vni);
        QueryWords w = default;
        w[Word.Source] = src.Hi;
        w[Word.Source + 1] = src.Lo;
        w[Word.Destination] = dst.Hi;
        w[Word.Destination + 1] = dst.Lo;
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
            // A walk already at its leaf steps from node 0 (there is always one) as a narrow node, the common kind,
            // and keeps its leaf: a select, not a branch that would mispredict where the two depths differ.
            int nextA = Step(ref nodes, (a & ~(a >> 31)) | ((a >> 31) & 1), ref words);
            int nextB = Step(ref nodes, (b & ~(b >> 31)) | ((b >> 31) & 1), ref words);
            a = a < 0 ? a : nextA;
            b = b < 0 ? b : nextB;
        }

        ref int leaves = ref _leaves.First;
        int bestRank = int.MaxValue;
        // Both leaves' first rules are fetched at once rather than one scan step after the other. Codes past a leaf's
        // end belong to the next leaf (the array ends with padding) and prefetching a rule never faults.
        if (Sse.IsSupported)
        {
            if (v4)
                PrefetchLeafRules(ref leaves, ref _rulesV4.First, ~a, ~b);
            else
                PrefetchLeafRules(ref leaves, ref _rules.First, ~a, ~b);
        }
        // The answer is on the matching rule's line, already read: no further dependent load.
        if (v4)
        {
            ref RuleEntryV4 rulesV4 = ref _rulesV4.First;
            uint srcV4 = (uint)src.Lo, dstV4 = (uint)dst.Lo;
            ScanV4(ref leaves, ref rulesV4, ~a, srcV4, dstV4, ref words, ref bestRank);
            ScanV4(ref leaves, ref rulesV4, ~b, srcV4, dstV4, ref words, ref bestRank);
            if (bestRank == int.MaxValue)
                return _default;
            return Unsafe.Add(ref rulesV4, bestRank).Match;
        }
        ref RuleEntry rules = ref _rules.First;
        Scan(ref leaves, ref rules, ~a, ref words, ref bestRank);
        Scan(ref leaves, ref rules, ~b, ref words, ref bestRank);
        if (bestRank == int.MaxValue)
            return _default;
        return Unsafe.Add(ref rules, bestRank).Match;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void PrefetchLeafRules<T>(ref int leaves, ref T rules, int leafA, int leafB)
    {
        for (int k = 0; k < PrefetchedRules; k++)
        {
            Sse.Prefetch0(Unsafe.AsPointer(ref Unsafe.Add(ref rules, Unsafe.Add(ref leaves, leafA + k) & int.MaxValue)));
            Sse.Prefetch0(Unsafe.AsPointer(ref Unsafe.Add(ref rules, Unsafe.Add(ref leaves, leafB + k) & int.MaxValue)));
        }
    }

    /// <summary>One level down: the child reference of node <paramref name="reference"/> the query falls in.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Step(ref Node nodes, int reference, ref ulong words)
    {
        // Node references come from the builder and are in range by construction.
        ref Node node = ref Unsafe.Add(ref nodes, reference >> Node.WordBits);
        int word = reference & Node.WordMask;
        // The child is the number of splits below the value: indexing by it, rather than branching, avoids
        // mispredicts, since the descent's direction is random from the predictor's point of view.
        if ((word & 1) != 0)
        {
            // A narrow node reads the low 32 bits of the field's lower word: its region fixes every bit above them.
            ref NarrowNode narrow = ref Unsafe.As<Node, NarrowNode>(ref node);
            int value = (int)((uint)Unsafe.Add(ref words, word) ^ NarrowNode.Bias);
            Vector256<int> splits = Vector256.LoadUnsafe(ref Unsafe.As<NarrowNode, int>(ref narrow));
            uint above = Vector256.GreaterThan(Vector256.Create(value), splits).ExtractMostSignificantBits();
            return Unsafe.Add(ref Unsafe.AsRef(in narrow.C0), BitOperations.PopCount(above));
        }
        ulong hi = Unsafe.Add(ref words, word), lo = Unsafe.Add(ref words, word + 1);
        bool above0 = hi > node.S0Hi | (hi == node.S0Hi & lo > node.S0Lo);
        bool above1 = hi > node.S1Hi | (hi == node.S1Hi & lo > node.S1Lo);
        bool above2 = hi > node.S2Hi | (hi == node.S2Hi & lo > node.S2Lo);
        int child = Unsafe.As<bool, byte>(ref above0) + Unsafe.As<bool, byte>(ref above1) + Unsafe.As<bool, byte>(ref above2);
        return Unsafe.Add(ref Unsafe.AsRef(in node.C0), child);
    }

    /// <summary>Scans the leaf starting at <paramref name="start"/> for the first rule matching and ranking before
    /// <paramref name="bestRank"/>, lowering <paramref name="bestRank"/> to its rank. The rank is in the leaf, so a
    /// rule that cannot win is skipped without reading it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Scan(ref int leaves, ref RuleEntry rules, int start, ref ulong words, ref int bestRank)
    {
        for (int i = start; ; i++)
        {
            int code = Unsafe.Add(ref leaves, i);
            int rank = code & int.MaxValue;
            if (rank >= bestRank)
                return;
            // Ranks below int.MaxValue come from the builder and index the rule array.
            if (Unsafe.Add(ref rules, rank).Matches(ref words))
            {
                bestRank = rank;
                return;
            }
            if (code < 0)
                return;
        }
    }

    /// <summary><see cref="Scan"/> for an IPv4 query over an IPv4 lane's leaf (every rule there reaches into the
    /// IPv4 block, so its clipped form decides).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ScanV4(ref int leaves, ref RuleEntryV4 rules, int start, uint src, uint dst, ref ulong words, ref int bestRank)
    {
        for (int i = start; ; i++)
        {
            int code = Unsafe.Add(ref leaves, i);
            int rank = code & int.MaxValue;
            if (rank >= bestRank)
                return;
            if (Unsafe.Add(ref rules, rank).Matches(src, dst, ref words))
            {
                bestRank = rank;
                return;
            }
            if (code < 0)
                return;
        }
    }

    /// <summary>A leaf's code for <paramref name="rank"/>: the rank, with the top bit set on the leaf's last one.
    /// An empty leaf holds only <see cref="EmptyLeafCode"/>, whose rank (int.MaxValue) stops any scan.</summary>
    private static int LeafCode(int rank, bool last) => last ? rank | int.MinValue : rank;

    private const int EmptyLeafCode = -1;

    /// <summary>Rules of each leaf prefetched before the scan; the leaf array ends with this many empty codes.</summary>
    internal const int PrefetchedRules = 4;

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

    /// <summary>A wide inner node, 64 bytes: three ascending 128-bit splits (as two halves) cut one field into four
    /// children. A reference to a node is its index shifted left by <see cref="WordBits"/> with, in the low bits, the
    /// query word the node compares — even (a field's upper word) for a wide node, odd (a field's lower word) for a
    /// <see cref="NarrowNode"/> — so the word can be loaded while the node is; a leaf is referenced by the complement
    /// of its first entry.</summary>
    [StructLayout(LayoutKind.Sequential, Size = 64)]
    private readonly struct Node
    {
        public const int Fanout = 4;
        public const int WordBits = 4;
        public const int WordMask = (1 << WordBits) - 1;

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

        public static int Reference(int index, int word) => (index << WordBits) | word;
    }

    /// <summary>A narrow inner node, 64 bytes in the same array as <see cref="Node"/>: for a field whose region lies
    /// inside one aligned block of 2^32 values (ports, protocol, an address range inside one /96 such as all of IPv4),
    /// seven ascending 32-bit splits cut it into eight children, chosen with one vector compare — half the depth of a
    /// wide tree over the same rules. Splits are stored biased (xor 2^31) so a signed compare orders them as unsigned;
    /// the eighth split is the largest value, which no query is above.</summary>
    [StructLayout(LayoutKind.Sequential, Size = 64)]
    private readonly struct NarrowNode
    {
        public const int Fanout = 8;
        public const uint Bias = 0x8000_0000u;

        private readonly NarrowSplits _splits;
        // C0 to C7 are adjacent: the lookup indexes them by the comparison's outcome.
        public readonly int C0;
        private readonly int _c1, _c2, _c3, _c4, _c5, _c6, _c7;

        public NarrowNode(in Splits splits, in Children children)
        {
            for (int k = 0; k < Fanout - 1; k++)
                _splits[k] = (int)((uint)splits[k] ^ Bias);
            _splits[Fanout - 1] = int.MaxValue;
            (C0, _c1, _c2, _c3) = (children[0], children[1], children[2], children[3]);
            (_c4, _c5, _c6, _c7) = (children[4], children[5], children[6], children[7]);
        }
    }

    [InlineArray(NarrowNode.Fanout)]
    private struct NarrowSplits
    {
        private int _element;
    }

    [InlineArray(NarrowNode.Fanout - 1)]
    private struct Splits
    {
        private UInt128 _element;
    }

    [InlineArray(NarrowNode.Fanout)]
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

    /// <summary>A rule's IPv4 part in 32 bytes: each address prefix clipped to the IPv4 block (where it is again a
    /// prefix, or the whole block) as a 32-bit value and length, ports and protocol as (low, span), and the answer. Only meaningful for
    /// rules in IPv4 lanes, which are exactly those whose two prefixes reach into the block.</summary>
    [StructLayout(LayoutKind.Sequential, Size = 32)]
    private readonly struct RuleEntryV4
    {
        private readonly uint _src, _dst;
        private readonly ushort _sportLo, _sportSpan, _dportLo, _dportSpan;
        /// <summary>The rule's answer, stored whole so that returning it is one 8-byte load.</summary>
        public readonly AclMatch Match;
        private readonly byte _srcLength, _dstLength, _protoLo, _protoSpan;

        public RuleEntryV4(in CompiledRule r)
        {
            Match = new AclMatch(r.Action, r.Id);
            (_src, _srcLength) = Clip(r.Lo[AclFields.Source], r.Hi[AclFields.Source]);
            (_dst, _dstLength) = Clip(r.Lo[AclFields.Destination], r.Hi[AclFields.Destination]);
            _sportLo = (ushort)r.Lo[AclFields.SourcePort];
            _sportSpan = (ushort)(r.Hi[AclFields.SourcePort] - r.Lo[AclFields.SourcePort]);
            _dportLo = (ushort)r.Lo[AclFields.DestinationPort];
            _dportSpan = (ushort)(r.Hi[AclFields.DestinationPort] - r.Lo[AclFields.DestinationPort]);
            _protoLo = (byte)r.Lo[AclFields.Protocol];
            _protoSpan = (byte)(r.Hi[AclFields.Protocol] - r.Lo[AclFields.Protocol]);
        }

        /// <summary>The part of prefix [first, last] inside the IPv4 block as (address, prefix length 0..32); called only
        /// for prefixes that reach into the block.</summary>
        private static (uint Value, byte Length) Clip(UInt128 first, UInt128 last)
        {
            UInt128 lo = UInt128.Max(first, V4First), hi = UInt128.Min(last, V4Last);
            // A prefix either holds the block or lies inside it, so the clipped range is again a prefix.
            int hostBits = 128 - (int)UInt128.LeadingZeroCount(hi - lo);
            return ((uint)lo, (byte)(32 - hostBits));
        }

        /// <summary>The mask of an IPv4 prefix of <paramref name="length"/> (0..32) bits: a 64-bit shift, since a 32-bit
        /// shift by 32 would not clear the word.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static uint Mask(byte length) => (uint)((ulong)uint.MaxValue << (32 - length));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool Matches(uint src, uint dst, ref ulong w) =>
            ((((src ^ _src) & Mask(_srcLength)) | ((dst ^ _dst) & Mask(_dstLength))) == 0)
            & ((uint)Unsafe.Add(ref w, Word.DestinationPort + 1) - _dportLo <= _dportSpan)
            & ((uint)Unsafe.Add(ref w, Word.SourcePort + 1) - _sportLo <= _sportSpan)
            & ((uint)Unsafe.Add(ref w, Word.Protocol + 1) - _protoLo <= _protoSpan);
    }

    /// <summary>A rule in the form tested at the leaves, one 64-byte cache line: each address a prefix as value and length per
    /// 64-bit half, ports and protocol as (low, span), all tested without a branch per field. Direction and VNI
    /// are not kept (the partition implies them); the rule's id and action are, so a match needs no other load.</summary>
    [StructLayout(LayoutKind.Sequential, Size = 64)]
    private readonly struct RuleEntry
    {
        private readonly ulong _srcHi, _srcLo, _dstHi, _dstLo;
        private readonly ushort _sportLo, _sportSpan, _dportLo, _dportSpan;
        private readonly byte _protoLo, _protoSpan;
        private readonly byte _srcHiLength, _srcLoLength, _dstHiLength, _dstLoLength;
        /// <summary>The rule's answer, stored whole so that returning it is one 8-byte load.</summary>
        public readonly AclMatch Match;

        public RuleEntry(in CompiledRule r)
        {
            Match = new AclMatch(r.Action, r.Id);
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
