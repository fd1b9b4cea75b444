using System.Runtime.CompilerServices;

namespace Offload.Conntrack;

// Expiry: a hashed timer wheel of one-second buckets. An entry's exact deadline lives in the entry; the entry
// waits in the bucket of a second no later than its deadline. Refreshing to a later deadline only writes the
// deadline (the common per-packet case costs nothing more); refreshing to an earlier second moves the entry.
// When Expire reaches a bucket, due entries are removed and the others are re-bucketed by their current
// deadline, so the cost of Expire is the seconds passed (at most one turn of the wheel) plus the entries
// found in those buckets — never a scan of the table.
public sealed partial class ConntrackTable
{
    private const int WheelBits = 12;
    private const int WheelSlots = 1 << WheelBits;
    private const int WheelMask = WheelSlots - 1;
    private const int NotInWheel = -1;

    private readonly long _epochTicks;
    private int[] _wheel = [];
    // Every bucket of a second before this one has been processed; this second's may still hold entries due
    // later within it.
    private long _cursor;

    private void InitWheel()
    {
        _wheel = new int[WheelSlots];
        Array.Fill(_wheel, NoSlot);
        _cursor = 0;
    }

    /// <summary>Removes the connections whose timeout has run out by now.</summary>
    /// <inheritdoc cref="Expire(long)"/>
    public int Expire() => Expire(_time.GetTimestamp());

    /// <summary>
    /// Advances the timer wheel to <paramref name="nowTicks"/> and removes every connection whose deadline is
    /// ≤ that time (reason <see cref="ConntrackRemoveReason.Timeout"/>, the observer is told). Cheap when
    /// nothing is due: the work is the seconds passed since the last call (capped at one turn of the wheel)
    /// plus the entries waiting in those seconds' buckets.
    /// </summary>
    /// <returns>The number of connections removed.</returns>
    public int Expire(long nowTicks)
    {
        ThrowIfNotifying();
        long nowSecond = SecondOf(nowTicks);
        if (nowSecond < _cursor)
            return 0;
        long first = Math.Max(_cursor, nowSecond - WheelSlots + 1);
        // Set before walking so that re-bucketed entries never land behind the cursor.
        _cursor = nowSecond;
        int removed = 0;
        for (long second = first; second <= nowSecond; second++)
        {
            int bucket = (int)(second & WheelMask);
            int slot = _wheel[bucket];
            // Detach the whole chain: entries re-bucketed into this same bucket start a new chain and are not
            // visited again in this pass.
            _wheel[bucket] = NoSlot;
            while (slot != NoSlot)
            {
                ref var e = ref _entries[slot];
                int next = e.WheelNext;
                e.WheelPrev = NoSlot;
                e.WheelNext = NoSlot;
                e.BucketSecond = NotInWheel;
                if (e.DeadlineTicks <= nowTicks)
                {
                    RemoveSlot(slot, ConntrackRemoveReason.Timeout, nowTicks);
                    removed++;
                }
                else
                {
                    LinkWheel(slot, SecondOf(e.DeadlineTicks));
                }
                slot = next;
            }
        }
        return removed;
    }

    private void Refresh(int slot, int timeoutSeconds, long now)
    {
        ref var e = ref _entries[slot];
        e.DeadlineTicks = now + timeoutSeconds * _frequency;
        long second = SecondOf(e.DeadlineTicks);
        // A later deadline is found lazily when the current bucket comes up; an earlier one must move now or
        // the entry would outlive its timeout.
        if (second < e.BucketSecond)
        {
            UnlinkWheel(slot);
            LinkWheel(slot, second);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private long SecondOf(long ticks)
    {
        long delta = ticks - _epochTicks;
        return delta <= 0 ? 0 : delta / _frequency;
    }

    private void LinkWheel(int slot, long second)
    {
        if (second < _cursor)
            second = _cursor;
        ref var e = ref _entries[slot];
        int bucket = (int)(second & WheelMask);
        int head = _wheel[bucket];
        e.BucketSecond = (int)second;
        e.WheelPrev = NoSlot;
        e.WheelNext = head;
        if (head != NoSlot)
            _entries[head].WheelPrev = slot;
        _wheel[bucket] = slot;
    }

    private void UnlinkWheel(int slot)
    {
        ref var e = ref _entries[slot];
        if (e.BucketSecond == NotInWheel)
            return;
        if (e.WheelPrev != NoSlot)
            _entries[e.WheelPrev].WheelNext = e.WheelNext;
        else
            _wheel[e.BucketSecond & WheelMask] = e.WheelNext;
        if (e.WheelNext != NoSlot)
            _entries[e.WheelNext].WheelPrev = e.WheelPrev;
        e.WheelPrev = NoSlot;
        e.WheelNext = NoSlot;
        e.BucketSecond = NotInWheel;
    }
}
