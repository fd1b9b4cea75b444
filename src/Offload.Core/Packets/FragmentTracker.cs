using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Offload.Packets;

/// <summary>
/// Gives non-first IP fragments the ports of their flow. Later fragments carry no L4 header, so they are
/// matched to the first fragment by (source, destination, protocol, IP id), as the kernel's fragment queues do.
/// </summary>
/// <remarks>
/// Bounded: at most <c>capacity</c> datagrams are remembered; when full, the oldest entry is evicted, and an
/// entry older than the timeout (default <see cref="DefaultTimeout"/>, Linux's <c>ipfrag_time</c>) no longer
/// resolves. Storage is fixed arrays of structs allocated once; nothing is allocated per fragment.
/// Not thread-safe: use one instance per datapath thread, or guard it with a lock.
/// </remarks>
public sealed class FragmentTracker
{
    /// <summary>How long a first fragment's ports are remembered by default (Linux ipfrag_time = 30 s).</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    private const int NoEntry = -1;

    private readonly Entry[] _entries;
    private readonly int[] _buckets;
    private readonly int _bucketMask;
    private readonly long _timeoutTicks;
    private int _next;
    private int _count;

    /// <summary>Creates a tracker that remembers <paramref name="capacity"/> datagrams for <see cref="DefaultTimeout"/>.</summary>
    /// <param name="capacity">Most datagrams remembered at once.</param>
    /// <param name="timestampFrequency"><see cref="TimeProvider.TimestampFrequency"/> of the clock whose ticks are passed in.</param>
    public FragmentTracker(int capacity, long timestampFrequency)
        : this(capacity, DefaultTimeout, timestampFrequency)
    {
    }

    /// <summary>Creates a tracker.</summary>
    /// <param name="capacity">Most datagrams remembered at once.</param>
    /// <param name="timeout">How long after its first fragment a datagram's later fragments still resolve.</param>
    /// <param name="timestampFrequency"><see cref="TimeProvider.TimestampFrequency"/> of the clock whose ticks are passed in.</param>
    public FragmentTracker(int capacity, TimeSpan timeout, long timestampFrequency)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(capacity, 1 << 24);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(timestampFrequency, 1L);

        _entries = new Entry[capacity];
        int buckets = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)capacity * 2);
        _buckets = new int[buckets];
        _buckets.AsSpan().Fill(NoEntry);
        _bucketMask = buckets - 1;
        _timeoutTicks = (long)Math.Min(timeout.TotalSeconds * timestampFrequency, long.MaxValue / 2);
        Timeout = timeout;
    }

    /// <summary>Most datagrams remembered at once.</summary>
    public int Capacity => _entries.Length;

    /// <summary>Datagrams currently remembered (expired ones included until they are looked up or evicted).</summary>
    public int Count => _count;

    /// <summary>How long a first fragment's ports are remembered.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>Remembers the ports of a first fragment (offset 0, more fragments) so later fragments resolve.
    /// Ignores anything that is not a first fragment with ports.</summary>
    /// <param name="first">The parsed first fragment.</param>
    /// <param name="nowTicks"><see cref="TimeProvider.GetTimestamp"/> now.</param>
    public void RecordFirstFragment(in ParsedPacket first, long nowTicks)
    {
        if (!first.IsFragment || first.FragmentOffset != 0 || !first.HasPorts)
            return;

        int bucket = Bucket(first.SrcIp, first.DstIp, first.Protocol, first.IpId);
        int index = Find(bucket, first.SrcIp, first.DstIp, first.Protocol, first.IpId);
        if (index == NoEntry)
        {
            // Slots are reused in insertion order, so the slot taken next always holds the oldest entry.
            index = _next;
            _next = _next + 1 == _entries.Length ? 0 : _next + 1;
            ref Entry victim = ref _entries[index];
            if (victim.InUse)
                Unlink(index);
            else
                _count++;
            victim.SrcIp = first.SrcIp;
            victim.DstIp = first.DstIp;
            victim.Protocol = first.Protocol;
            victim.IpId = first.IpId;
            victim.InUse = true;
            victim.Bucket = bucket;
            victim.Next = _buckets[bucket];
            _buckets[bucket] = index;
        }
        ref Entry entry = ref _entries[index];
        entry.SrcPort = first.SrcPort;
        entry.DstPort = first.DstPort;
        entry.Timestamp = nowTicks;
    }

    /// <summary>Fills <see cref="ParsedPacket.SrcPort"/>, <see cref="ParsedPacket.DstPort"/> and
    /// <see cref="ParsedPacket.HasPorts"/> of a non-first fragment from its first fragment.</summary>
    /// <param name="later">A non-first fragment.</param>
    /// <param name="nowTicks"><see cref="TimeProvider.GetTimestamp"/> now.</param>
    /// <returns>False when the first fragment was never seen or has expired: drop with
    /// <see cref="DropReason.FragmentWithoutFlow"/>.</returns>
    public bool TryResolve(ref ParsedPacket later, long nowTicks)
    {
        if (!later.IsFragment)
            return false;
        int bucket = Bucket(later.SrcIp, later.DstIp, later.Protocol, later.IpId);
        int index = Find(bucket, later.SrcIp, later.DstIp, later.Protocol, later.IpId);
        if (index == NoEntry)
            return false;
        ref Entry entry = ref _entries[index];
        if (nowTicks - entry.Timestamp > _timeoutTicks)
        {
            Unlink(index);
            entry.InUse = false;
            _count--;
            return false;
        }
        later.SrcPort = entry.SrcPort;
        later.DstPort = entry.DstPort;
        later.HasPorts = true;
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Bucket(NetAddress src, NetAddress dst, byte protocol, uint id) =>
        HashCode.Combine(src.Hi, src.Lo, dst.Hi, dst.Lo, protocol, id) & _bucketMask;

    private int Find(int bucket, NetAddress src, NetAddress dst, byte protocol, uint id)
    {
        for (int i = _buckets[bucket]; i != NoEntry; i = _entries[i].Next)
        {
            ref Entry e = ref _entries[i];
            if (e.IpId == id && e.Protocol == protocol && e.SrcIp == src && e.DstIp == dst)
                return i;
        }
        return NoEntry;
    }

    private void Unlink(int index)
    {
        ref Entry entry = ref _entries[index];
        ref int link = ref _buckets[entry.Bucket];
        while (link != NoEntry)
        {
            if (link == index)
            {
                link = entry.Next;
                return;
            }
            link = ref _entries[link].Next;
        }
    }

    [StructLayout(LayoutKind.Auto)]
    private struct Entry
    {
        public NetAddress SrcIp;
        public NetAddress DstIp;
        public long Timestamp;
        public uint IpId;
        public int Next;
        public int Bucket;
        public ushort SrcPort;
        public ushort DstPort;
        public byte Protocol;
        public bool InUse;
    }
}
