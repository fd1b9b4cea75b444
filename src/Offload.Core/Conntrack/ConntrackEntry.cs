using System.Runtime.InteropServices;
using Offload.Flows;

namespace Offload.Conntrack;

/// <summary>Bits of <see cref="ConntrackEntry.Flags"/>.</summary>
[Flags]
internal enum EntryFlags : byte
{
    None = 0,
    InUse = 1,
    /// <summary>IPS_SEEN_REPLY.</summary>
    SeenReply = 2,
    /// <summary>IPS_ASSURED.</summary>
    Assured = 4,
    /// <summary>IP_CT_TCP_FLAG_CLOSE_INIT seen in either direction: a FIN started the close, which lets a new
    /// SYN re-open the connection from TIME_WAIT/CLOSE.</summary>
    CloseInit = 8,
    /// <summary>The last accepted TCP packet came in the reply direction (Linux's last_dir).</summary>
    LastDirReply = 16,
    /// <summary>Linked in the early-drop list (not assured).</summary>
    OnDropList = 32,
}

/// <summary>
/// One slot of the table. Slots live in <see cref="ConntrackEntryStore"/> (no object per connection); the links are
/// slot indices of two intrusive doubly linked lists: the timer-wheel bucket the entry waits in, and the early-drop
/// list of not-assured entries in creation order. A free slot reuses <see cref="WheelNext"/> as the free-list link.
/// </summary>
/// <remarks>
/// The layout is fixed so that everything a fast-path packet reads or writes — liveness, state, protocol, deadline,
/// wheel bucket, counters — is in the first 64 bytes, one cache line (the store aligns slots to lines; 192 = 3 lines).
/// The tuples, links and creation time are only touched when a connection is created, looked up by the slow path,
/// re-filed in the wheel or removed.
/// </remarks>
[StructLayout(LayoutKind.Sequential, Size = 192)]
internal struct ConntrackEntry
{
    // ---- line 0: the per-packet fields
    /// <summary>Expiry time in timestamp ticks: the entry is due when now ≥ deadline.</summary>
    public long DeadlineTicks;
    public long LastSeenTicks;
    public long OriginalPackets;
    public long OriginalBytes;
    public long ReplyPackets;
    public long ReplyBytes;
    /// <summary>Bumped when the slot is freed, so old <see cref="ConnectionId"/>s stop matching.</summary>
    public uint Generation;
    /// <summary>Second (since the table's epoch) of the wheel bucket holding the entry, ≤ the deadline's
    /// second; -1 when not in the wheel.</summary>
    public int BucketSecond;
    public ConnState State;
    public EntryFlags Flags;
    /// <summary>Packet class of the last accepted TCP packet (Linux's last_index); 0xFF before any.</summary>
    public byte LastIndex;
    /// <summary><see cref="Original"/>'s protocol, kept here so a packet's update never reads the tuples.</summary>
    public byte Protocol;

    // ---- the rest: set-up, slow path, wheel and removal
    public long CreatedTicks;
    public int WheelPrev;
    public int WheelNext;
    public int DropPrev;
    public int DropNext;
    public FlowKey Original;
    public FlowKey Reply;
}
