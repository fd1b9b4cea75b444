using System.Runtime.InteropServices;

namespace Offload.Flows;

/// <summary>
/// One flow-table entry: the sequence counter, the key, the value and the hit counters, padded to whole cache lines
/// by the table. A lookup reads the first line (version, key) and, for values over 8 bytes, the second (value,
/// counters); the hit that follows writes the counters in a line the lookup already fetched.
/// </summary>
/// <remarks>
/// The counters used to be a separate array so that hits on one flow would not invalidate the line other readers
/// compare keys in. They still do not: the key stays on the first line, and the counters sit after the value, on
/// the last. What the separate array cost was one more cache miss per hit, on every hit, for a case (one flow hit
/// from several cores at once) that only bounces the value's line between those cores. Counter writes never touch
/// <see cref="Version"/>, so a reader's sequence check is unaffected.
/// </remarks>
[StructLayout(LayoutKind.Sequential)]
internal struct FlowRecord<TValue>
    where TValue : unmanaged
{
    /// <summary>Sequence lock: odd while the writer changes the record; bumped by 2 per change, never reset, so
    /// a reader that saw the same even value before and after its copy has a consistent copy.</summary>
    public int Version;

    /// <summary>1 while the record holds a key of the table, 0 once removed (or never used).</summary>
    public int Live;

    public FlowKey Key;

    public TValue Value;

    /// <summary>Written by readers with atomics (many threads may hit one flow); outside the sequence lock.</summary>
    public FlowCounters Counters;
}

/// <summary>Per-entry hit counters.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FlowCounters
{
    public long Packets;
    public long Bytes;
    public long LastSeenTicks;
}
