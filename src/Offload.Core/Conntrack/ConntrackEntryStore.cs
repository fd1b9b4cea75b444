using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Offload.Flows;

namespace Offload.Conntrack;

/// <summary>
/// Conntrack's slots in unmanaged, cache-line-aligned segments that never move.
/// </summary>
/// <remarks>
/// Why not a managed array: a GC array element of 192 bytes starts anywhere within a cache line, so the 64 hot bytes a
/// fast-path packet updates (<see cref="ConntrackEntry"/>) straddled two lines, and growing meant copying every entry
/// (<c>Array.Resize</c>) on the connection-setup path. Here segment 0 holds the first <c>B</c> slots (<c>B</c> the
/// initial capacity rounded up to a power of two) and segment <c>k ≥ 1</c> the next <c>B·2^(k−1)</c>, so growing
/// doubles the capacity by adding a segment: nothing is copied or freed while the table lives, and a
/// <c>ref</c> to a slot stays valid across growth. Large segments come from <see cref="TableMemory"/> (huge pages).
/// The memory is released by the finalizer: the store is private to one table and holds no other resource.
/// </remarks>
internal sealed unsafe class ConntrackEntryStore
{
    private const int MaxSegments = 32;

    private readonly int _baseShift;
    private readonly int _maxEntries;
    // _bases[k] = segment k's address minus its first slot's offset, so slot s lives at _bases[k] + s·size.
    private readonly nint[] _bases = new nint[MaxSegments + 1];
    private readonly nint[] _allocations = new nint[MaxSegments + 1];
    private int _segments;
    private int _capacity;
    private long _allocatedBytes;

    /// <summary>Allocates segment 0 for <paramref name="initial"/> slots (rounded up to a power of two, capped at
    /// <paramref name="maxEntries"/>).</summary>
    public ConntrackEntryStore(int initial, int maxEntries)
    {
        _maxEntries = maxEntries;
        int baseSize = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, initial));
        _baseShift = BitOperations.Log2((uint)baseSize);
        AddSegment(0, Math.Min(baseSize, maxEntries));
    }

    /// <summary>Slots allocated (the first <c>Capacity</c> slot numbers are valid).</summary>
    public int Capacity => _capacity;

    /// <summary>Bytes allocated for the slots.</summary>
    public long AllocatedBytes => _allocatedBytes;

    /// <summary>The slot; <paramref name="slot"/> must be below <see cref="Capacity"/> (callers check against their
    /// own high-water mark).</summary>
    public ref ConntrackEntry this[int slot]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            int segment = 32 - BitOperations.LeadingZeroCount((uint)slot >> _baseShift);
            return ref Unsafe.AsRef<ConntrackEntry>((void*)(_bases[segment] + (nint)slot * sizeof(ConntrackEntry)));
        }
    }

    /// <summary>Doubles the capacity (capped at the table's maximum); false when already at the maximum.</summary>
    public bool Grow()
    {
        if (_capacity >= _maxEntries)
            return false;
        int first = _capacity;
        int size = (int)Math.Min((long)first, _maxEntries - (long)first);
        AddSegment(first, size);
        return true;
    }

    private void AddSegment(int firstSlot, int slots)
    {
        nuint bytes = (nuint)slots * (nuint)sizeof(ConntrackEntry);
        void* memory = TableMemory.Allocate(bytes);
        // Fresh slots must read as free (flags 0, generation 0), as a new managed array's would.
        NativeMemory.Clear(memory, bytes);
        _allocations[_segments] = (nint)memory;
        _bases[_segments] = (nint)memory - (nint)firstSlot * sizeof(ConntrackEntry);
        _segments++;
        _capacity = firstSlot + slots;
        _allocatedBytes += (long)bytes;
        // The GC sees only this small object: without the pressure, dropped tables' slots would wait for a collection
        // that nothing else triggers.
        GC.AddMemoryPressure((long)bytes);
    }

    ~ConntrackEntryStore()
    {
        for (int k = 0; k < _segments; k++)
            TableMemory.Free((void*)_allocations[k]);
        if (_allocatedBytes > 0)
            GC.RemoveMemoryPressure(_allocatedBytes);
    }
}
