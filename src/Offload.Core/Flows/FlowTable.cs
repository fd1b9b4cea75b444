using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace Offload.Flows;

/// <summary>
/// The fast path's exact-match flow table (claims C3, C4): a fixed-capacity hash table keyed by
/// <see cref="FlowKey"/> holding a small unmanaged value and per-flow counters, in unmanaged memory.
/// </summary>
/// <typeparam name="TValue">The per-flow value (e.g. action-program id, NAT rewrite, conntrack id).</typeparam>
/// <remarks>
/// <para>Layout. A compact index of 8-byte slots (high 32 bits: the high half of the key's hash as a tag;
/// low 32 bits: entry number + 1; 0 = empty; <see cref="Tombstone"/> = removed) with at least twice as many slots as
/// the capacity (load ≤ 0.5), probed linearly from the start of the 64-byte line (8 slots) the hash picks; an array
/// of records (sequence counter, key, value, hit counters) padded to whole cache lines; a free list of entry
/// numbers. A hit thus touches the index line and the record's lines, nothing else. The table never grows: like a hardware table it reports
/// <see cref="FlowTableStatus.Full"/> and the caller spills the flow.</para>
/// <para>Concurrency. One writer at a time (add, update, remove, clear, and idle removal take an internal lock),
/// any number of concurrent lock-free readers (<see cref="TryLookup"/>, <see cref="LookupBatch"/>,
/// <see cref="RecordHit"/>). Each record has a sequence lock: the writer makes the counter odd, writes, makes it
/// even; a reader copies key and value between two reads of the same even counter, else retries (and after a few
/// tries reports a miss, which sends the packet to the slow path — never a wrong value). A slot is published with a
/// release write only after its record is complete, and a record carries its own key, so a reader holding a slot
/// whose record was removed and reused for another key compares that other key and does not match.</para>
/// <para>Removals leave tombstones, except that a removed slot followed by an empty slot becomes empty (with any
/// tombstones just before it), since no probe sequence can pass through it. When tombstones exceed 1/8 of the slots
/// the writer rebuilds the index into a new array and publishes it; the old array is freed only after every reader
/// that might still be probing it has left (<see cref="IndexReaderGate"/>: two striped reader counts, waited on by the
/// writer). That costs readers two uncontended atomics per lookup or per batch, and lets the writer free memory
/// promptly instead of keeping an unbounded chain of retired arrays or trusting that no reader sleeps across two
/// rebuilds.</para>
/// <para>Disposal. Control-plane members throw <see cref="ObjectDisposedException"/> after <see cref="Dispose"/>.
/// The hot reader members (<see cref="TryLookup"/>, <see cref="LookupBatch"/>, <see cref="RecordHit"/>,
/// <see cref="RecordHits"/>) do not check: the owner must stop its readers before disposing the table.</para>
/// </remarks>
public sealed unsafe class FlowTable<TValue> : IDisposable
    where TValue : unmanaged
{
    /// <summary>Largest number of keys <see cref="LookupBatch"/> processes in one pipelined pass; longer spans are
    /// processed in chunks of this size.</summary>
    public const int MaxBatch = 64;

    /// <summary>Largest supported capacity.</summary>
    public const int MaxCapacity = 1 << 28;

    private const ulong Tombstone = 0xFFFF_FFFFUL;
    private const int SlotsPerLine = 8;
    private const int MaxReadAttempts = 16;
    private const ulong NoCandidate = ulong.MaxValue;

    private readonly Lock _writeLock = new();
    private readonly IndexReaderGate _gate = new();
    private readonly ulong _seed;
    private readonly int _capacity;
    private readonly ulong _slotMask;
    private readonly ulong _lineMask;
    private readonly nint _stride;
    private readonly int _hotLines;
    private readonly bool _countersBeyondHotLines;
    private readonly long _allocatedBytes;

    private byte* _records;
    private int* _freeList;
    private nint _index; // ulong*, replaced by rebuilds: read with Volatile.Read
    private int _freeCount;
    private int _highWater; // records [0, _highWater) have been initialised
    private int _count;
    private int _tombstones;
    private int _rebuilds;
    private bool _disposed;

    /// <summary>Creates a table for up to <paramref name="capacity"/> flows.</summary>
    /// <param name="capacity">Maximum number of entries, 1 to <see cref="MaxCapacity"/>.</param>
    /// <param name="hashSeed">Hash seed; random when null (tests pass one to reproduce a layout).</param>
    public FlowTable(int capacity, ulong? hashSeed = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(capacity, MaxCapacity);
        _capacity = capacity;
        _seed = hashSeed ?? (ulong)Random.Shared.NextInt64() ^ ((ulong)Random.Shared.NextInt64() << 17);
        ulong slots = Math.Max(SlotsPerLine, BitOperations.RoundUpToPowerOf2((ulong)capacity * 2));
        _slotMask = slots - 1;
        _lineMask = _slotMask & ~(ulong)(SlotsPerLine - 1);
        _stride = (sizeof(FlowRecord<TValue>) + 63) & ~63;
        _hotLines = (int)Math.Min(2, _stride / 64);
        // Values over 48 bytes push the counters past the two lines a lookup prefetches.
        _countersBeyondHotLines = sizeof(FlowRecord<TValue>) > _hotLines * 64;

        nuint recordBytes = (nuint)_stride * (nuint)capacity;
        nuint freeBytes = sizeof(int) * (nuint)capacity;
        // Records are initialised lazily (below _highWater), so untouched capacity costs no pages.
        _records = (byte*)TableMemory.Allocate(recordBytes);
        _freeList = (int*)TableMemory.Allocate(freeBytes);
        _index = (nint)AllocateIndex();
        _allocatedBytes = (long)(recordBytes + freeBytes + IndexBytes);
        GC.AddMemoryPressure(_allocatedBytes);
    }

    /// <summary>Frees the unmanaged memory if <see cref="Dispose"/> was not called.</summary>
    ~FlowTable() => Free();

    /// <summary>Maximum number of entries.</summary>
    public int Capacity => _capacity;

    /// <summary>Number of entries.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Unmanaged bytes reserved by the table (index, records with their counters, free list).</summary>
    public long AllocatedBytes => _allocatedBytes;

    /// <summary>Number of index rebuilds so far (tombstone clean-ups and clears).</summary>
    internal int IndexRebuilds => Volatile.Read(ref _rebuilds);

    /// <summary>Number of index slots.</summary>
    internal long SlotCount => (long)_slotMask + 1;

    private nuint IndexBytes => (nuint)(_slotMask + 1) * sizeof(ulong);

    /// <summary>
    /// Inserts <paramref name="key"/> with <paramref name="value"/>, its counters zero and last-seen
    /// <paramref name="nowTicks"/>. Returns <see cref="FlowTableStatus.Exists"/> (with the existing entry's handle,
    /// value unchanged) if the key is present, <see cref="FlowTableStatus.Full"/> (handle −1) if the table is full.
    /// </summary>
    public FlowTableStatus TryAdd(in FlowKey key, in TValue value, long nowTicks, out int handle)
    {
        lock (_writeLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            ulong* index = (ulong*)_index;
            ulong hash = FlowHash.Hash(in key, _seed);
            long found = FindSlot(index, in key, hash, out long free);
            if (found >= 0)
            {
                handle = (int)(uint)index[found] - 1;
                return FlowTableStatus.Exists;
            }
            if (_count == _capacity)
            {
                handle = -1;
                return FlowTableStatus.Full;
            }

            int entry = AllocateEntry();
            FlowRecord<TValue>* record = Record(entry);
            BeginWrite(record);
            record->Key = key;
            record->Value = value;
            record->Live = 1;
            EndWrite(record);
            FlowCounters* counters = &record->Counters;
            Volatile.Write(ref counters->Packets, 0);
            Volatile.Write(ref counters->Bytes, 0);
            Volatile.Write(ref counters->LastSeenTicks, nowTicks);

            if (index[free] == Tombstone)
                _tombstones--;
            // Release: the record is complete before any reader can reach it through this slot.
            Volatile.Write(ref index[free], ((hash >> 32) << 32) | (uint)(entry + 1));
            Volatile.Write(ref _count, _count + 1);
            handle = entry;
            return FlowTableStatus.Added;
        }
    }

    /// <summary>Replaces the value of <paramref name="key"/>, keeping its counters. False if absent.</summary>
    public bool TryUpdate(in FlowKey key, in TValue value)
    {
        lock (_writeLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            ulong* index = (ulong*)_index;
            long found = FindSlot(index, in key, FlowHash.Hash(in key, _seed), out _);
            if (found < 0)
                return false;
            FlowRecord<TValue>* record = Record((int)(uint)index[found] - 1);
            BeginWrite(record);
            record->Value = value;
            EndWrite(record);
            return true;
        }
    }

    /// <summary>Removes <paramref name="key"/>, returning its value. False if absent.</summary>
    public bool TryRemove(in FlowKey key, out TValue removed)
    {
        lock (_writeLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            ulong* index = (ulong*)_index;
            long found = FindSlot(index, in key, FlowHash.Hash(in key, _seed), out _);
            if (found < 0)
            {
                removed = default;
                return false;
            }
            int entry = (int)(uint)index[found] - 1;
            removed = Record(entry)->Value;
            RemoveAt(index, (ulong)found, entry);
            return true;
        }
    }

    /// <summary>
    /// Removes the entry <paramref name="handle"/> if it is still live and has not been hit since
    /// <paramref name="idleBeforeTicks"/> (re-checked under the write lock, so a flow hit after
    /// <see cref="CollectIdle(long, Span{int}, ref int)"/> reported it survives). Returns its key and value.
    /// </summary>
    public bool TryRemoveIdle(int handle, long idleBeforeTicks, out FlowKey key, out TValue removed)
    {
        lock (_writeLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            key = default;
            removed = default;
            if ((uint)handle >= (uint)_highWater)
                return false;
            FlowRecord<TValue>* record = Record(handle);
            if (record->Live == 0 || Volatile.Read(ref record->Counters.LastSeenTicks) >= idleBeforeTicks)
                return false;
            key = record->Key;
            removed = record->Value;
            ulong* index = (ulong*)_index;
            long found = FindSlot(index, in key, FlowHash.Hash(in key, _seed), out _);
            RemoveAt(index, (ulong)found, handle);
            return true;
        }
    }

    /// <summary>Removes every entry. Handles held by callers become invalid.</summary>
    public void Clear()
    {
        lock (_writeLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            for (int entry = 0; entry < _highWater; entry++)
            {
                FlowRecord<TValue>* record = Record(entry);
                if (record->Live == 0)
                    continue;
                BeginWrite(record);
                record->Live = 0;
                EndWrite(record);
            }
            PublishIndex(AllocateIndex());
            // Lowest entry numbers on top, so a refilled table stays dense at the front (enumeration, aging).
            _freeCount = 0;
            for (int entry = _highWater - 1; entry >= 0; entry--)
                _freeList[_freeCount++] = entry;
            _tombstones = 0;
            Volatile.Write(ref _count, 0);
        }
    }

    /// <summary>
    /// Looks up <paramref name="key"/> (lock-free, any thread). On a hit returns the entry's handle (for
    /// <see cref="RecordHit"/>) and a consistent copy of its value; on a miss handle −1.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryLookup(in FlowKey key, out int handle, out TValue value)
    {
        ref long gate = ref _gate.Enter();
        ulong* index = (ulong*)Volatile.Read(ref _index);
        ulong hash = FlowHash.Hash(in key, _seed);
        handle = ProbeForReader(index, in key, hash, hash & _lineMask, out value);
        IndexReaderGate.Exit(ref gate);
        return handle >= 0;
    }

    /// <summary>
    /// Looks up many keys at once (lock-free, any thread) so that their cache misses overlap: all keys are hashed
    /// and their index lines prefetched, then the slots probed and the records prefetched, then the keys compared.
    /// Keys are processed in chunks of <see cref="MaxBatch"/>. <paramref name="handles"/>[i] is −1 for a miss (and
    /// <paramref name="values"/>[i] default). Returns the number of hits.
    /// </summary>
    public int LookupBatch(ReadOnlySpan<FlowKey> keys, Span<int> handles, Span<TValue> values)
    {
        if (handles.Length < keys.Length || values.Length < keys.Length)
            ThrowBatchSpansTooShort();
        ref long gate = ref _gate.Enter();
        ulong* index = (ulong*)Volatile.Read(ref _index);
        int hits = 0;
        for (int start = 0; start < keys.Length; start += MaxBatch)
        {
            int n = Math.Min(MaxBatch, keys.Length - start);
            hits += LookupChunk(index, keys.Slice(start, n), handles.Slice(start, n), values.Slice(start, n));
        }
        IndexReaderGate.Exit(ref gate);
        return hits;
    }

    /// <summary>
    /// Counts a hit on <paramref name="handle"/> (any thread): one packet of <paramref name="bytes"/> bytes, last
    /// seen <paramref name="nowTicks"/>. Handles outside the table are ignored; a handle whose key was removed (and
    /// possibly reused) in the meantime charges whatever entry now occupies it — callers record hits right after
    /// the lookup that produced the handle.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void RecordHit(int handle, int bytes, long nowTicks)
    {
        if ((uint)handle >= (uint)_capacity)
            return;
        FlowCounters* counters = &Record(handle)->Counters;
        Interlocked.Increment(ref counters->Packets);
        Interlocked.Add(ref counters->Bytes, bytes);
        Volatile.Write(ref counters->LastSeenTicks, nowTicks);
    }

    /// <summary>Counts hits for a batch (handle −1 entries, i.e. misses, are skipped); see <see cref="RecordHit"/>.</summary>
    public void RecordHits(ReadOnlySpan<int> handles, ReadOnlySpan<int> bytes, long nowTicks)
    {
        if (bytes.Length < handles.Length)
            ThrowBatchSpansTooShort();
        for (int i = 0; i < handles.Length; i++)
            RecordHit(handles[i], bytes[i], nowTicks);
    }

    /// <summary>Reads the entry <paramref name="handle"/>. False if the handle is not a live entry.</summary>
    public bool TryGetEntry(int handle, out FlowKey key, out TValue value, out FlowStats stats)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if ((uint)handle < (uint)Volatile.Read(ref _highWater) && TryReadLive(handle, out key, out value))
        {
            stats = ReadStats(handle);
            return true;
        }
        key = default;
        value = default;
        stats = default;
        return false;
    }

    /// <summary>The counters of <paramref name="key"/>; all zero if the key is absent.</summary>
    public FlowStats GetStats(in FlowKey key)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return TryLookup(in key, out int handle, out _) ? ReadStats(handle) : default;
    }

    /// <summary>
    /// Scans up to the end of the table from <paramref name="cursor"/> and fills <paramref name="handles"/> with
    /// live entries not hit since <paramref name="idleBeforeTicks"/>; stops early when <paramref name="handles"/> is
    /// full. Returns how many were written; <paramref name="cursor"/> is where the next call continues (0 after the
    /// end of the table, so a complete pass is the calls until it comes back to 0).
    /// </summary>
    public int CollectIdle(long idleBeforeTicks, Span<int> handles, ref int cursor) =>
        CollectIdle(idleBeforeTicks, handles, ref cursor, int.MaxValue);

    /// <summary>
    /// As <see cref="CollectIdle(long, Span{int}, ref int)"/>, examining at most <paramref name="maxScan"/> entries,
    /// so one call's work is bounded even when nothing is idle.
    /// </summary>
    public int CollectIdle(long idleBeforeTicks, Span<int> handles, ref int cursor, int maxScan)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxScan, 1);
        int end = Volatile.Read(ref _highWater);
        int entry = (uint)cursor < (uint)end ? cursor : 0;
        int found = 0;
        for (int scanned = 0; found < handles.Length && scanned < maxScan && entry < end; scanned++, entry++)
        {
            FlowRecord<TValue>* record = Record(entry);
            if (Volatile.Read(ref record->Live) != 0
                && Volatile.Read(ref record->Counters.LastSeenTicks) < idleBeforeTicks)
                handles[found++] = entry;
        }
        cursor = entry >= end ? 0 : entry;
        return found;
    }

    /// <summary>Enumerates the live entries (control plane; no allocation per entry). Entries added or removed
    /// during the enumeration may or may not be seen; each entry seen is a consistent snapshot.</summary>
    public Enumerator GetEnumerator()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return new Enumerator(this);
    }

    /// <summary>Frees the unmanaged memory. Readers must have stopped (see the type's remarks).</summary>
    public void Dispose()
    {
        lock (_writeLock)
        {
            if (_disposed)
                return;
            _disposed = true;
            Free();
        }
        GC.SuppressFinalize(this);
    }

    /// <summary>A struct enumerator over the live entries of a <see cref="FlowTable{TValue}"/>.</summary>
    public struct Enumerator
    {
        private readonly FlowTable<TValue> _table;
        private readonly int _end;
        private int _entry;
        private FlowTableEntry<TValue> _current;

        internal Enumerator(FlowTable<TValue> table)
        {
            _table = table;
            _end = Volatile.Read(ref table._highWater);
            _entry = -1;
            _current = default;
        }

        /// <summary>The current entry.</summary>
        public readonly FlowTableEntry<TValue> Current => _current;

        /// <summary>Advances to the next live entry.</summary>
        public bool MoveNext()
        {
            ObjectDisposedException.ThrowIf(_table._disposed, _table);
            while (++_entry < _end)
            {
                if (_table.TryReadLive(_entry, out FlowKey key, out TValue value))
                {
                    _current = new FlowTableEntry<TValue>(_entry, key, value, _table.ReadStats(_entry));
                    return true;
                }
            }
            return false;
        }
    }

    /// <summary>Test hook: leaves the record of <paramref name="handle"/> as the writer leaves it mid-change (odd
    /// sequence counter) or ends that, so tests can check what readers do when they meet a record being written.</summary>
    internal void SetRecordBeingWrittenForTest(int handle, bool writing)
    {
        lock (_writeLock)
        {
            FlowRecord<TValue>* record = Record(handle);
            if (writing)
                BeginWrite(record);
            else
                EndWrite(record);
        }
    }

    private int LookupChunk(ulong* index, ReadOnlySpan<FlowKey> keys, Span<int> handles, Span<TValue> values)
    {
        int n = keys.Length;
        ulong* hashes = stackalloc ulong[MaxBatch];
        ulong* candidates = stackalloc ulong[MaxBatch]; // slot position of the first tag match, or NoCandidate
        ulong* candidateSlots = stackalloc ulong[MaxBatch];

        for (int i = 0; i < n; i++)
        {
            ulong hash = FlowHash.Hash(in keys[i], _seed);
            hashes[i] = hash;
            Prefetch(index + (hash & _lineMask));
        }

        for (int i = 0; i < n; i++)
        {
            ulong hash = hashes[i];
            uint tag = (uint)(hash >> 32);
            ulong position = hash & _lineMask;
            candidates[i] = NoCandidate;
            for (ulong probes = 0; probes <= _slotMask; probes++)
            {
                ulong slot = Volatile.Read(ref index[position]);
                if (slot == 0)
                    break;
                uint entry = (uint)slot - 1;
                if ((uint)(slot >> 32) == tag && entry < (uint)_capacity)
                {
                    candidates[i] = position;
                    candidateSlots[i] = slot;
                    byte* record = (byte*)Record((int)entry);
                    Prefetch(record);
                    if (_hotLines > 1)
                        Prefetch(record + 64);
                    if (_countersBeyondHotLines)
                        Prefetch(&((FlowRecord<TValue>*)record)->Counters); // the caller's RecordHit comes next
                    break;
                }
                position = (position + 1) & _slotMask;
            }
        }

        int hits = 0;
        for (int i = 0; i < n; i++)
        {
            int handle = -1;
            TValue value = default;
            ulong position = candidates[i];
            if (position != NoCandidate)
            {
                int entry = (int)(uint)candidateSlots[i] - 1;
                if (TryReadMatching(entry, in keys[i], out value))
                    handle = entry;
                else // tag collision, or the slot changed under us: carry on probing after the candidate
                    handle = ProbeForReader(index, in keys[i], hashes[i], (position + 1) & _slotMask, out value);
            }
            handles[i] = handle;
            values[i] = value;
            if (handle >= 0)
                hits++;
        }
        return hits;
    }

    private int ProbeForReader(ulong* index, in FlowKey key, ulong hash, ulong position, out TValue value)
    {
        uint tag = (uint)(hash >> 32);
        for (ulong probes = 0; probes <= _slotMask; probes++)
        {
            ulong slot = Volatile.Read(ref index[position]);
            if (slot == 0)
                break;
            uint entry = (uint)slot - 1;
            if ((uint)(slot >> 32) == tag && entry < (uint)_capacity && TryReadMatching((int)entry, in key, out value))
                return (int)entry;
            position = (position + 1) & _slotMask;
        }
        value = default;
        return -1;
    }

    /// <summary>Sequence-lock read: true only if the record, read consistently, is live and holds <paramref name="key"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryReadMatching(int entry, in FlowKey key, out TValue value)
    {
        FlowRecord<TValue>* record = Record(entry);
        for (int attempt = 0; attempt < MaxReadAttempts; attempt++)
        {
            int before = Volatile.Read(ref record->Version);
            if ((before & 1) == 0)
            {
                bool match = record->Live != 0 && record->Key.Equals(key);
                TValue copy = record->Value;
                Volatile.ReadBarrier();
                if (Volatile.Read(ref record->Version) == before)
                {
                    value = match ? copy : default;
                    return match;
                }
            }
            Thread.SpinWait(1);
        }
        // The writer keeps changing this record: a miss sends the packet to the slow path, which is always safe.
        value = default;
        return false;
    }

    private bool TryReadLive(int entry, out FlowKey key, out TValue value)
    {
        FlowRecord<TValue>* record = Record(entry);
        var spin = new SpinWait();
        while (true)
        {
            int before = Volatile.Read(ref record->Version);
            if ((before & 1) == 0)
            {
                int live = record->Live;
                key = record->Key;
                value = record->Value;
                Volatile.ReadBarrier();
                if (Volatile.Read(ref record->Version) == before)
                    return live != 0;
            }
            spin.SpinOnce();
        }
    }

    private FlowStats ReadStats(int entry)
    {
        FlowCounters* counters = &Record(entry)->Counters;
        return new FlowStats(Volatile.Read(ref counters->Packets), Volatile.Read(ref counters->Bytes),
            Volatile.Read(ref counters->LastSeenTicks));
    }

    /// <summary>Writer-side probe: the slot holding <paramref name="key"/>, or −1 and in <paramref name="free"/> the
    /// slot an insert should use (the first tombstone on the way, else the empty slot that ended the probe).</summary>
    private long FindSlot(ulong* index, in FlowKey key, ulong hash, out long free)
    {
        ulong tag = hash >> 32;
        ulong position = hash & _lineMask;
        long reusable = -1;
        for (ulong probes = 0; probes <= _slotMask; probes++)
        {
            ulong slot = index[position];
            if (slot == 0)
            {
                free = reusable >= 0 ? reusable : (long)position;
                return -1;
            }
            if (slot == Tombstone)
            {
                if (reusable < 0)
                    reusable = (long)position;
            }
            else if ((slot >> 32) == tag && Record((int)(uint)slot - 1)->Key.Equals(key))
            {
                free = -1;
                return (long)position;
            }
            position = (position + 1) & _slotMask;
        }
        // Unreachable while load + tombstones stay below 1, kept so a bug cannot loop for ever.
        free = reusable;
        return -1;
    }

    private void RemoveAt(ulong* index, ulong position, int entry)
    {
        ulong next = (position + 1) & _slotMask;
        if (index[next] == 0)
        {
            // No probe sequence runs through a slot followed by an empty one (sequences are contiguous runs of
            // occupied slots), so it, and the tombstones right before it, can become empty again.
            Volatile.Write(ref index[position], 0);
            ulong previous = (position - 1) & _slotMask;
            while (index[previous] == Tombstone)
            {
                Volatile.Write(ref index[previous], 0);
                _tombstones--;
                previous = (previous - 1) & _slotMask;
            }
        }
        else
        {
            Volatile.Write(ref index[position], Tombstone);
            _tombstones++;
        }

        FlowRecord<TValue>* record = Record(entry);
        BeginWrite(record);
        record->Live = 0;
        EndWrite(record);
        _freeList[_freeCount++] = entry;
        Volatile.Write(ref _count, _count - 1);

        if ((ulong)_tombstones > (_slotMask + 1) / 8)
            RebuildIndex();
    }

    private void RebuildIndex()
    {
        ulong* fresh = AllocateIndex();
        for (int entry = 0; entry < _highWater; entry++)
        {
            FlowRecord<TValue>* record = Record(entry);
            if (record->Live == 0)
                continue;
            ulong hash = FlowHash.Hash(in record->Key, _seed);
            ulong position = hash & _lineMask;
            while (fresh[position] != 0)
                position = (position + 1) & _slotMask;
            fresh[position] = ((hash >> 32) << 32) | (uint)(entry + 1);
        }
        PublishIndex(fresh);
        _tombstones = 0;
    }

    private void PublishIndex(ulong* fresh)
    {
        ulong* old = (ulong*)_index;
        Volatile.Write(ref _index, (nint)fresh);
        _gate.WaitForReadersOfPreviousIndex();
        TableMemory.Free(old);
        Volatile.Write(ref _rebuilds, _rebuilds + 1);
    }

    private int AllocateEntry()
    {
        if (_freeCount > 0)
            return _freeList[--_freeCount];
        int entry = _highWater;
        FlowRecord<TValue>* record = Record(entry);
        record->Version = 0;
        record->Live = 0;
        // Published before the record is written: enumeration then sees it not live until it is.
        Volatile.Write(ref _highWater, entry + 1);
        return entry;
    }

    private ulong* AllocateIndex()
    {
        var index = (ulong*)TableMemory.Allocate(IndexBytes);
        NativeMemory.Clear(index, IndexBytes);
        return index;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private FlowRecord<TValue>* Record(int entry) => (FlowRecord<TValue>*)(_records + (entry * _stride));

    private static void BeginWrite(FlowRecord<TValue>* record)
    {
        Volatile.Write(ref record->Version, record->Version + 1);
        // The odd version must be visible before any of the data stores that follow.
        Volatile.WriteBarrier();
    }

    private static void EndWrite(FlowRecord<TValue>* record) =>
        Volatile.Write(ref record->Version, record->Version + 1);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Prefetch(void* address)
    {
        if (Sse.IsSupported)
            Sse.Prefetch0(address);
    }

    private void Free()
    {
        if (_records == null)
            return;
        TableMemory.Free(_records);
        TableMemory.Free(_freeList);
        TableMemory.Free((void*)_index);
        _records = null;
        _freeList = null;
        _index = 0;
        GC.RemoveMemoryPressure(_allocatedBytes);
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowBatchSpansTooShort() =>
        throw new ArgumentException("The output spans must be at least as long as the input span.");
}
