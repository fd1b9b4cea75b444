using System.Numerics;
using System.Runtime.CompilerServices;

namespace Offload.Classification;

/// <summary>
/// Maps a query's (direction, VNI) to the index of its ACL partition: an open-addressing table with
/// linear probing over a power-of-two array, so a lookup is a multiply, a shift and usually one compare.
/// Keys not in the table map to the direction's any-VNI partition (index = direction).
/// </summary>
internal readonly struct PartitionTable
{
    // VNIs fit in 24 bits, so (vni << 1 | direction) never equals the empty marker.
    private const uint Empty = uint.MaxValue;

    private readonly uint[] _keys;
    private readonly int[] _values;
    private readonly int _shift;

    /// <summary>Builds the table; <paramref name="partitionOf"/> maps (direction, VNI) keys to partition indices ≥ 2.</summary>
    public PartitionTable(IReadOnlyDictionary<(AclDirection Direction, uint Vni), int> partitionOf)
    {
        // Load factor at most one half keeps probe runs short.
        int size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(4, 2 * partitionOf.Count));
        _shift = 32 - BitOperations.Log2((uint)size);
        _keys = new uint[size];
        _values = new int[size];
        Array.Fill(_keys, Empty);
        foreach (var ((direction, vni), partition) in partitionOf)
        {
            uint key = Key(direction, vni);
            int i = Slot(key);
            while (_keys[i] != Empty)
                i = (i + 1) & (size - 1);
            _keys[i] = key;
            _values[i] = partition;
        }
    }

    /// <summary>Bytes held by the table's arrays.</summary>
    public long MemoryBytes => _keys.Length * (sizeof(uint) + sizeof(int));

    /// <summary>The partition of (<paramref name="direction"/>, <paramref name="vni"/>); direction must be ingress or egress.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Find(AclDirection direction, uint vni)
    {
        // A query VNI wider than 24 bits is no rule's VNI: only the any-VNI partition applies.
        if (vni > 0xFF_FFFF)
            return (int)direction;
        uint key = Key(direction, vni);
        uint[] keys = _keys;
        int mask = keys.Length - 1;
        for (int i = Slot(key); ; i = (i + 1) & mask)
        {
            uint k = keys[i];
            if (k == key)
                return _values[i];
            if (k == Empty)
                return (int)direction;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Key(AclDirection direction, uint vni) => (vni << 1) | (uint)direction;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Slot(uint key) => (int)((key * 0x9E3779B1u) >> _shift);
}
