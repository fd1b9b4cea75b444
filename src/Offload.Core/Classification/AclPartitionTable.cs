using System.Numerics;
using System.Runtime.CompilerServices;

namespace Offload.Classification;

/// <summary>
/// Maps a query's (lane, VNI) to the index of its ACL partition: an open-addressing table with linear
/// probing over a power-of-two array, so a lookup is a multiply, a shift and usually one compare. A lane
/// (below <see cref="Lanes"/>) is what else splits partitions (direction and protocol class); keys not in
/// the table map to the lane's any-VNI partition, whose index is the lane.
/// </summary>
internal readonly struct PartitionTable
{
    /// <summary>Number of lanes; partitions 0 to Lanes − 1 are the any-VNI ones.</summary>
    public const int Lanes = 8;

    // VNIs fit in 24 bits, so (vni << 3 | lane) never equals the empty marker.
    private const uint Empty = uint.MaxValue;

    private readonly uint[] _keys;
    private readonly int[] _values;
    private readonly int _shift;

    /// <summary>Builds the table; <paramref name="partitionOf"/> maps (lane, VNI) keys to partition indices ≥ <see cref="Lanes"/>.</summary>
    public PartitionTable(IReadOnlyDictionary<(int Lane, uint Vni), int> partitionOf)
    {
        // Load factor at most one half keeps probe runs short.
        int size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(4, 2 * partitionOf.Count));
        _shift = 32 - BitOperations.Log2((uint)size);
        _keys = new uint[size];
        _values = new int[size];
        Array.Fill(_keys, Empty);
        foreach (var ((lane, vni), partition) in partitionOf)
        {
            uint key = Key(lane, vni);
            int i = Slot(key);
            while (_keys[i] != Empty)
                i = (i + 1) & (size - 1);
            _keys[i] = key;
            _values[i] = partition;
        }
    }

    /// <summary>Bytes held by the table's arrays.</summary>
    public long MemoryBytes => _keys.Length * (sizeof(uint) + sizeof(int));

    /// <summary>The partition of (<paramref name="lane"/>, <paramref name="vni"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Find(int lane, uint vni)
    {
        // A query VNI wider than 24 bits is no rule's VNI: only the any-VNI partition applies.
        if (vni > 0xFF_FFFF)
            return lane;
        uint key = Key(lane, vni);
        uint[] keys = _keys;
        int mask = keys.Length - 1;
        for (int i = Slot(key); ; i = (i + 1) & mask)
        {
            uint k = keys[i];
            if (k == key)
                return _values[i];
            if (k == Empty)
                return lane;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Key(int lane, uint vni) => (vni << 3) | (uint)lane;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Slot(uint key) => (int)((key * 0x9E3779B1u) >> _shift);
}
