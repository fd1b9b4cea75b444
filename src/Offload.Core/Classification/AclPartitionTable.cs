using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Offload.Classification;

/// <summary>
/// Maps a query's (lane, VNI) to its ACL partition's value: an open-addressing table with linear probing
/// over a power-of-two array of (key, value) slots, so a lookup is a multiply, a shift and usually one
/// compare on one cache line. A lane (below <see cref="Lanes"/>) is what else splits partitions (direction,
/// protocol class and address family); keys not in the table get the lane's any-VNI value.
/// </summary>
internal readonly struct PartitionTable<TValue>
    where TValue : struct
{
    /// <summary>Number of lanes.</summary>
    public const int Lanes = 16;
    private const int LaneBits = 4;

    // VNIs fit in 24 bits, so (vni << LaneBits | lane) never equals the empty marker.
    private const uint Empty = uint.MaxValue;

    private readonly Slot[] _slots;
    private readonly TValue[] _laneValues;
    private readonly int _shift;

    /// <summary>Builds the table from (lane, VNI) keys and the value of each lane for every other VNI.</summary>
    public PartitionTable(IReadOnlyDictionary<(int Lane, uint Vni), TValue> values, TValue[] laneValues)
    {
        if (laneValues.Length != Lanes)
            throw new ArgumentException($"one value per lane ({Lanes}) expected", nameof(laneValues));
        // Load factor at most one half keeps probe runs short.
        int size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(4, 2 * values.Count));
        _shift = 32 - BitOperations.Log2((uint)size);
        _slots = new Slot[size];
        _laneValues = laneValues;
        for (int i = 0; i < size; i++)
            _slots[i].Key = Empty;
        foreach (var ((lane, vni), value) in values)
        {
            uint key = Key(lane, vni);
            int i = Index(key);
            while (_slots[i].Key != Empty)
                i = (i + 1) & (size - 1);
            _slots[i] = new Slot { Key = key, Value = value };
        }
    }

    /// <summary>Bytes held by the table's arrays.</summary>
    public long MemoryBytes => ((long)_slots.Length * Unsafe.SizeOf<Slot>()) + ((long)Lanes * Unsafe.SizeOf<TValue>());

    /// <summary>The value of (<paramref name="lane"/>, <paramref name="vni"/>); lane must be below <see cref="Lanes"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TValue Find(int lane, uint vni)
    {
        // A query VNI wider than 24 bits is no rule's VNI: only the lane's any-VNI value applies.
        if (vni <= 0xFF_FFFF)
        {
            uint key = Key(lane, vni);
            Slot[] slots = _slots;
            int mask = slots.Length - 1;
            ref Slot first = ref MemoryMarshal.GetArrayDataReference(slots);
            for (int i = Index(key); ; i = (i + 1) & mask)
            {
                // i is masked to the power-of-two length.
                ref Slot slot = ref Unsafe.Add(ref first, i);
                if (slot.Key == key)
                    return slot.Value;
                if (slot.Key == Empty)
                    break;
            }
        }
        return _laneValues[lane];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Key(int lane, uint vni) => (vni << LaneBits) | (uint)lane;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Index(uint key) => (int)((key * 0x9E3779B1u) >> _shift);

    private struct Slot
    {
        public uint Key;
        public TValue Value;
    }
}
