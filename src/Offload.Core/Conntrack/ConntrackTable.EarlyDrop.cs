namespace Offload.Conntrack;

// Early drop: when the table is full, Linux evicts an entry that is not ASSURED rather than refuse the new
// connection; assured connections (TCP established with a reply, UDP streams) are never evicted. The
// not-assured entries are kept in creation order in an intrusive list, so the oldest is found in O(1).
public sealed partial class ConntrackTable
{
    private int _dropHead = NoSlot;
    private int _dropTail = NoSlot;

    private bool TryEarlyDrop()
    {
        if (_dropHead == NoSlot)
            return false;
        RemoveSlot(_dropHead, ConntrackRemoveReason.EarlyDrop, _time.GetTimestamp());
        return true;
    }

    private void LinkDropList(int slot)
    {
        ref var e = ref _entries[slot];
        e.Flags |= EntryFlags.OnDropList;
        e.DropPrev = _dropTail;
        e.DropNext = NoSlot;
        if (_dropTail != NoSlot)
            _entries[_dropTail].DropNext = slot;
        else
            _dropHead = slot;
        _dropTail = slot;
    }

    private void UnlinkDropList(int slot)
    {
        ref var e = ref _entries[slot];
        if ((e.Flags & EntryFlags.OnDropList) == 0)
            return;
        if (e.DropPrev != NoSlot)
            _entries[e.DropPrev].DropNext = e.DropNext;
        else
            _dropHead = e.DropNext;
        if (e.DropNext != NoSlot)
            _entries[e.DropNext].DropPrev = e.DropPrev;
        else
            _dropTail = e.DropPrev;
        e.Flags &= ~EntryFlags.OnDropList;
    }
}
