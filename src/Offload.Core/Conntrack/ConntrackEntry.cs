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
/// One slot of the table. Slots live in one array (no object per connection); the links are slot indices
/// of two intrusive doubly linked lists: the timer-wheel bucket the entry waits in, and the early-drop
/// list of not-assured entries in creation order. A free slot reuses <see cref="WheelNext"/> as the
/// free-list link.
/// </summary>
[StructLayout(LayoutKind.Auto)]
internal struct ConntrackEntry
{
    public FlowKey Original;
    public FlowKey Reply;
    /// <summary>Expiry time in timestamp ticks: the entry is due when now ≥ deadline.</summary>
    public long DeadlineTicks;
    public long CreatedTicks;
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
    public int WheelPrev;
    public int WheelNext;
    public int DropPrev;
    public int DropNext;
    public ConnState State;
    public EntryFlags Flags;
    /// <summary>Packet class of the last accepted TCP packet (Linux's last_index); 0xFF before any.</summary>
    public byte LastIndex;
}
