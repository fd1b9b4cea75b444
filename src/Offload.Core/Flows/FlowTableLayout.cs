using System.Runtime.InteropServices;

namespace Offload.Flows;

/// <summary>
/// The part of a flow-table entry that readers touch on every lookup: the sequence counter, the key and the
/// value, kept together so a lookup reads one cache line (two for values over 8 bytes), apart from the counters
/// that every hit writes (so hits on one flow do not keep invalidating the line other readers compare keys in).
/// </summary>
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
}

/// <summary>Per-entry counters, written by readers with atomics (many threads may hit one flow).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct FlowCounters
{
    public long Packets;
    public long Bytes;
    public long LastSeenTicks;

    /// <summary>When the key was inserted; pads the struct to 32 bytes so a counter block never straddles a line.</summary>
    public long CreatedTicks;
}
