using System.Runtime.CompilerServices;
using Offload.Flows;
using Offload.Packets;

namespace Offload.Conntrack;

/// <summary>
/// Connection tracking with Linux nf_conntrack's semantics (claim C5). The slow path creates an entry for a
/// first packet it accepts; every later packet of the connection, whether the fast path or the slow path
/// handles it, goes through <see cref="Update(ConnectionId, ConnDirection, in ParsedPacket, long)"/>, so the
/// state and its timeout advance from packets seen on either path.
/// </summary>
/// <remarks>
/// <para>Not thread-safe: the datapath thread owns the table; the control plane reads it on that thread or
/// under the datapath's own lock.</para>
/// <para>Tuples are the 5-tuple plus zone: lookups ignore <see cref="FlowKey.InPort"/> and treat
/// <see cref="FlowKey.Vni"/> as the conntrack zone.</para>
/// <para>TCP follows nf_conntrack's state table (<see cref="TcpStateTable"/>) and its special cases (loose
/// pickup, RST before a reply kills the entry, re-open from TIME_WAIT/CLOSE, ASSURED on the ACK completing
/// the handshake). TCP window tracking — sequence, acknowledgement and window checks, retransmission
/// counting, resynchronisation after an ignored SYN — is not done: every packet is taken as in-window.</para>
/// <para>Storage: arrays of structs indexed by slot, grown by doubling up to
/// <see cref="ConntrackOptions.MaxEntries"/>, a free list, and an open-addressed index from normalised tuple
/// to (slot, direction) that keeps no copy of the keys. Per-packet <c>Update</c> by id never touches the
/// index.</para>
/// <para>Expiry is a hashed timer wheel (see <see cref="Expire(long)"/>), early drop an O(1) list.</para>
/// </remarks>
public sealed partial class ConntrackTable
{
    private const int NoSlot = -1;
    private const byte NoIndex = 0xFF;

    // Linux (since 5.x) waits this long after creation before it calls a UDP flow with a reply a "stream":
    // a query/answer exchange (DNS) stays short-lived and early-droppable.
    private const int UdpStreamDelaySeconds = 2;

    private readonly TimeProvider _time;
    private readonly long _frequency;
    private readonly int _maxEntries;
    private readonly bool _tcpLoose;
    private readonly int[] _tcpTimeouts;
    private readonly int _tcpUnacknowledged;
    private readonly int _udpTimeout;
    private readonly int _udpStreamTimeout;
    private readonly int _icmpTimeout;
    private readonly int _genericTimeout;

    private readonly int[] _stateCounts = new int[ConnStateNames.Count];
    private readonly ConntrackEntryStore _entries;
    private int _used;
    private int _freeHead = NoSlot;
    private int _count;
    private bool _notifying;

    /// <summary>Creates an empty table.</summary>
    /// <exception cref="ArgumentException">An option is out of range (the message names it).</exception>
    public ConntrackTable(ConntrackOptions options, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        options.Validate();
        _time = timeProvider;
        _frequency = timeProvider.TimestampFrequency;
        _maxEntries = options.MaxEntries;
        _tcpLoose = options.TcpLoose;
        var t = options.Timeouts;
        _tcpTimeouts = new int[(int)ConnState.SynSent2 + 1];
        for (int s = 0; s < _tcpTimeouts.Length; s++)
            _tcpTimeouts[s] = t.ForTcpState((ConnState)s);
        _tcpUnacknowledged = t.TcpUnacknowledged;
        _udpTimeout = t.Udp;
        _udpStreamTimeout = t.UdpStream;
        _icmpTimeout = t.Icmp;
        _genericTimeout = t.Generic;

        int initial = Math.Min(options.InitialCapacity, _maxEntries);
        _entries = new ConntrackEntryStore(initial, _maxEntries);
        InitIndex(_entries.Capacity);
        _epochTicks = timeProvider.GetTimestamp();
        InitWheel();
    }

    /// <summary>Told about every removal (timeout, early drop, explicit, closed).</summary>
    public IConntrackObserver? Observer { get; set; }

    /// <summary>Number of connections tracked.</summary>
    public int Count => _count;

    /// <summary>The configured limit.</summary>
    public int MaxEntries => _maxEntries;

    /// <summary>Slots allocated so far (grows by doubling up to <see cref="MaxEntries"/>).</summary>
    public int Capacity => _entries.Capacity;

    /// <summary>Unmanaged bytes held for the connection slots (192 per slot allocated; the index and the timer wheel
    /// are on the managed heap).</summary>
    public long AllocatedBytes => _entries.AllocatedBytes;

    /// <summary>Number of connections in <paramref name="state"/> (O(1); for least-connections balancing).</summary>
    public int CountInState(ConnState state) =>
        (uint)state < (uint)_stateCounts.Length ? _stateCounts[(int)state] : 0;

    /// <summary>Creates the connection a first packet starts, at the current time.</summary>
    /// <inheritdoc cref="TryCreate(in FlowKey, in FlowKey, in ParsedPacket, long, out ConnectionId)"/>
    public ConntrackCreateResult TryCreate(in FlowKey original, in FlowKey reply, in ParsedPacket firstPacket, out ConnectionId id) =>
        TryCreate(original, reply, firstPacket, _time.GetTimestamp(), out id);

    /// <summary>
    /// Creates the connection <paramref name="firstPacket"/> starts and accounts that packet in the original
    /// direction. <paramref name="original"/> is the packet's key; <paramref name="reply"/> the key replies
    /// will carry (after NAT; without NAT <see cref="FlowKey.TryInvert"/> of the original).
    /// </summary>
    /// <returns><see cref="ConntrackCreateResult.Created"/> with the new id; <see cref="ConntrackCreateResult.Exists"/>
    /// with the id of the connection already owning either tuple; <see cref="ConntrackCreateResult.Invalid"/> when
    /// the packet cannot start a connection; <see cref="ConntrackCreateResult.Full"/> when the table is full and
    /// every entry is assured.</returns>
    public ConntrackCreateResult TryCreate(in FlowKey original, in FlowKey reply, in ParsedPacket firstPacket, long nowTicks, out ConnectionId id)
    {
        ThrowIfNotifying();
        var originalKey = Normalize(original);
        var replyKey = Normalize(reply);
        if (TryFindLive(originalKey, nowTicks, out id, out _) || TryFindLive(replyKey, nowTicks, out id, out _))
            return ConntrackCreateResult.Exists;

        id = ConnectionId.None;
        if (!TryInitialState(original, firstPacket, out var state, out int timeout))
            return ConntrackCreateResult.Invalid;

        if (_count >= _maxEntries && !TryEarlyDrop())
            return ConntrackCreateResult.Full;

        int slot = AllocateSlot();
        ref var e = ref _entries[slot];
        e.Original = original;
        e.Protocol = original.Protocol;
        e.Reply = reply;
        e.CreatedTicks = nowTicks;
        e.LastSeenTicks = nowTicks;
        e.OriginalPackets = 1;
        e.OriginalBytes = firstPacket.FrameLength;
        e.ReplyPackets = 0;
        e.ReplyBytes = 0;
        e.State = state;
        e.Flags = EntryFlags.InUse;
        e.LastIndex = original.Protocol == IpProtocol.Tcp ? (byte)TcpStateTable.Classify(firstPacket.TcpFlags) : NoIndex;
        e.DeadlineTicks = nowTicks + timeout * _frequency;
        e.BucketSecond = NotInWheel;
        LinkWheel(slot, SecondOf(e.DeadlineTicks));
        LinkDropList(slot);

        id = Publish(slot, originalKey, replyKey, state);
        return ConntrackCreateResult.Created;
    }

    // The last step of creating or importing an entry whose fields are set: findable by both tuples, and counted.
    private ConnectionId Publish(int slot, in FlowKey originalKey, in FlowKey replyKey, ConnState state)
    {
        IndexAdd(originalKey, slot << 1);
        if (!replyKey.Equals(originalKey))
            IndexAdd(replyKey, (slot << 1) | 1);
        _stateCounts[(int)state]++;
        _count++;
        return new ConnectionId(slot, _entries[slot].Generation);
    }

    /// <summary>Finds the connection either of whose tuples is <paramref name="key"/> (its ingress port is ignored).
    /// An entry past its deadline is still found until <see cref="Expire(long)"/> reaps it; <c>Update</c> then
    /// reports it <see cref="ConntrackVerdict.NotFound"/>.</summary>
    public bool TryLookup(in FlowKey key, out ConnectionId id, out ConnDirection direction)
    {
        int value = IndexFind(Normalize(key));
        if (value != EmptyCell)
        {
            int slot = value >> 1;
            id = new ConnectionId(slot, _entries[slot].Generation);
            direction = (ConnDirection)(value & 1);
            return true;
        }
        id = ConnectionId.None;
        direction = ConnDirection.Original;
        return false;
    }

    /// <summary>
    /// Finds the connection an ICMP/ICMPv6 error is RELATED to. The quoted packet travelled the other way, so
    /// its tuple is inverted (for a quoted ICMP query the type becomes its reply type, the identifier stays) and
    /// looked up, as nf_conntrack does; <paramref name="direction"/> is the direction the error itself travels.
    /// Related packets do not advance the connection's state or timeout: do not pass them to <c>Update</c>.
    /// </summary>
    public bool TryLookupRelated(in ParsedPacket icmpError, uint vni, out ConnectionId id, out ConnDirection direction)
    {
        if (icmpError.IsIcmpError)
        {
            var quoted = new FlowKey(icmpError.InnerSrcIp, icmpError.InnerSrcPort, icmpError.InnerDstIp, icmpError.InnerDstPort,
                icmpError.InnerProtocol, 0, vni);
            if (quoted.TryInvert(0, vni, out var inverted))
                return TryLookup(inverted, out id, out direction);
        }
        id = ConnectionId.None;
        direction = ConnDirection.Original;
        return false;
    }

    /// <summary>True when <paramref name="id"/> names a connection still in the table.</summary>
    public bool Contains(ConnectionId id) => IsLive(id);

    /// <summary>Advances the connection with a packet, at the current time.</summary>
    /// <inheritdoc cref="Update(ConnectionId, ConnDirection, in ParsedPacket, long)"/>
    public ConntrackUpdate Update(ConnectionId id, ConnDirection direction, in ParsedPacket packet) =>
        Update(id, direction, packet, _time.GetTimestamp());

    /// <summary>
    /// Advances connection <paramref name="id"/> with a packet seen in <paramref name="direction"/> by either
    /// path: moves the state, refreshes the timeout for the new state, counts the packet.
    /// </summary>
    public ConntrackUpdate Update(ConnectionId id, ConnDirection direction, in ParsedPacket packet, long nowTicks) =>
        UpdateCore(id, direction, packet.TcpFlags, packet.IsIcmpError, packet.FrameLength, nowTicks);

    /// <summary>
    /// <see cref="Update(ConnectionId, ConnDirection, in ParsedPacket, long)"/> from what a fast path has cheaply:
    /// the TCP flags (ignored for other protocols), the ICMP type (only to recognise errors, which are RELATED and
    /// change nothing) and the frame length for the byte counters.
    /// </summary>
    public ConntrackUpdate Update(ConnectionId id, ConnDirection direction, TcpFlags tcpFlags, byte icmpType, int frameLength, long nowTicks)
    {
        bool isError = (uint)id.Slot < (uint)_used && IsIcmpErrorType(_entries[id.Slot].Protocol, icmpType);
        return UpdateCore(id, direction, tcpFlags, isError, frameLength, nowTicks);
    }

    /// <summary>Removes a connection; the observer is told. False when the id is stale.</summary>
    public bool Remove(ConnectionId id, ConntrackRemoveReason reason)
    {
        ThrowIfNotifying();
        if (!IsLive(id))
            return false;
        RemoveSlot(id.Slot, reason, _time.GetTimestamp());
        return true;
    }

    /// <summary>A copy of the connection's record.</summary>
    /// <exception cref="ArgumentException">The id is stale or <see cref="ConnectionId.None"/>.</exception>
    public ConnectionInfo Get(ConnectionId id) =>
        TryGet(id, out var info) ? info : throw new ArgumentException($"Connection {id} is not in the table.", nameof(id));

    /// <summary>A copy of the connection's record; false when the id is stale.</summary>
    public bool TryGet(ConnectionId id, out ConnectionInfo info)
    {
        if (!IsLive(id))
        {
            info = default;
            return false;
        }
        info = BuildInfo(id.Slot, _time.GetTimestamp());
        return true;
    }

    /// <summary>Every tracked connection (control plane: allocates).</summary>
    public IReadOnlyList<ConnectionInfo> Snapshot()
    {
        long now = _time.GetTimestamp();
        var list = new List<ConnectionInfo>(_count);
        for (int slot = 0; slot < _used; slot++)
        {
            if ((_entries[slot].Flags & EntryFlags.InUse) != 0)
                list.Add(BuildInfo(slot, now));
        }
        return list;
    }

    // ---------------------------------------------------------------- per packet

    private ConntrackUpdate UpdateCore(ConnectionId id, ConnDirection direction, TcpFlags tcpFlags, bool isIcmpError, int frameLength, long now)
    {
        ThrowIfNotifying();
        if (!IsLive(id))
            return new ConntrackUpdate(ConntrackVerdict.NotFound, ConnState.None, false, false, 0);
        int slot = id.Slot;
        ref var e = ref _entries[slot];
        if (now >= e.DeadlineTicks)
        {
            // Due but not yet reaped by Expire: the connection is over, as Linux treats an expired entry.
            RemoveSlot(slot, ConntrackRemoveReason.Timeout, now);
            return new ConntrackUpdate(ConntrackVerdict.NotFound, ConnState.None, false, true, 0);
        }
        if (isIcmpError)
            return Unchanged(ConntrackVerdict.Accept, ref e, now);

        return e.Protocol switch
        {
            IpProtocol.Tcp => UpdateTcp(slot, direction, tcpFlags, frameLength, now),
            IpProtocol.Udp or UdpLite => UpdateUdp(slot, direction, frameLength, now),
            IpProtocol.Icmp or IpProtocol.IcmpV6 => UpdateSimple(slot, direction, frameLength, now, _icmpTimeout),
            _ => UpdateSimple(slot, direction, frameLength, now, _genericTimeout),
        };
    }

    private ConntrackUpdate UpdateTcp(int slot, ConnDirection dir, TcpFlags flags, int frameLength, long now)
    {
        ref var e = ref _entries[slot];
        if (!TcpStateTable.HasValidFlags(flags))
            return Unchanged(ConntrackVerdict.Invalid, ref e, now);

        int index = TcpStateTable.Classify(flags);
        var old = e.State;
        byte next = TcpStateTable.Next(dir, index, old);

        if (next == (byte)ConnState.SynSent && old is ConnState.TimeWait or ConnState.Close)
        {
            // A SYN on a closed connection re-opens it when the close was a FIN exchange, or an RST sent by the
            // same side now sending the SYN (an aborted connection restarted). Like Linux, kill the old entry and
            // let the packet create a new one; otherwise the SYN is only ignored.
            bool rstBySameSide = e.LastIndex == TcpStateTable.RstSet && LastDir(e) == dir;
            if ((e.Flags & EntryFlags.CloseInit) != 0 || rstBySameSide)
            {
                RemoveSlot(slot, ConntrackRemoveReason.Closed, now);
                return new ConntrackUpdate(ConntrackVerdict.Reopen, ConnState.None, true, true, 0);
            }
            next = TcpStateTable.Ignore;
        }

        if (next == TcpStateTable.Invalid)
            return Unchanged(ConntrackVerdict.Invalid, ref e, now);
        if (next == TcpStateTable.Ignore)
        {
            e.LastIndex = (byte)index;
            SetLastDir(ref e, dir);
            MarkSeenReply(slot, dir);
            return Unchanged(ConntrackVerdict.Ignored, ref e, now);
        }

        var state = (ConnState)next;
        e.LastIndex = (byte)index;
        SetLastDir(ref e, dir);
        if (state != old && state == ConnState.FinWait)
            e.Flags |= EntryFlags.CloseInit;
        SetState(ref e, state);

        int timeout = index == TcpStateTable.RstSet ? _tcpTimeouts[(int)ConnState.Close] : _tcpTimeouts[(int)state];
        if ((e.Flags & EntryFlags.SeenReply) == 0)
        {
            if (index == TcpStateTable.RstSet)
            {
                // Only an RST so far in answer (refused), or the client aborted before any reply: nothing worth
                // keeping, Linux deletes the entry at once.
                Account(ref e, dir, frameLength, now);
                RemoveSlot(slot, ConntrackRemoveReason.Closed, now);
                return new ConntrackUpdate(ConntrackVerdict.Accept, ConnState.Close, state != old, true, 0);
            }
            // Picked up mid-stream and never answered: do not grant the 5-day timeout yet.
            if (state == ConnState.Established && timeout > _tcpUnacknowledged)
                timeout = _tcpUnacknowledged;
        }
        else if ((e.Flags & EntryFlags.Assured) == 0 && state == ConnState.Established
                 && old is ConnState.SynRecv or ConnState.Established)
        {
            SetAssured(slot);
        }
        Refresh(slot, timeout, now);
        Account(ref _entries[slot], dir, frameLength, now);
        MarkSeenReply(slot, dir);
        return new ConntrackUpdate(ConntrackVerdict.Accept, state, state != old, false, timeout);
    }

    private ConntrackUpdate UpdateUdp(int slot, ConnDirection dir, int frameLength, long now)
    {
        ref var e = ref _entries[slot];
        var old = e.State;
        int timeout = _udpTimeout;
        // An assured UDP entry is past the stream delay, so only a not-yet-assured one reads the creation time (a
        // line the per-packet update otherwise never touches).
        if ((e.Flags & EntryFlags.SeenReply) != 0
            && ((e.Flags & EntryFlags.Assured) != 0 || now > e.CreatedTicks + UdpStreamDelaySeconds * _frequency))
        {
            timeout = _udpStreamTimeout;
            if ((e.Flags & EntryFlags.Assured) == 0)
            {
                SetAssured(slot);
                SetState(ref e, ConnState.Assured);
            }
        }
        Refresh(slot, timeout, now);
        Account(ref e, dir, frameLength, now);
        MarkSeenReply(slot, dir);
        return new ConntrackUpdate(ConntrackVerdict.Accept, e.State, e.State != old, false, timeout);
    }

    private ConntrackUpdate UpdateSimple(int slot, ConnDirection dir, int frameLength, long now, int timeout)
    {
        ref var e = ref _entries[slot];
        var old = e.State;
        Refresh(slot, timeout, now);
        Account(ref e, dir, frameLength, now);
        MarkSeenReply(slot, dir);
        return new ConntrackUpdate(ConntrackVerdict.Accept, e.State, e.State != old, false, timeout);
    }

    private ConntrackUpdate Unchanged(ConntrackVerdict verdict, ref ConntrackEntry e, long now)
    {
        long left = e.DeadlineTicks - now;
        int seconds = left <= 0 ? 0 : (int)Math.Min(int.MaxValue, (left + _frequency - 1) / _frequency);
        return new ConntrackUpdate(verdict, e.State, false, false, seconds);
    }

    // Linux sets IPS_SEEN_REPLY after the protocol handler ran, so the handler of the first reply still sees
    // an unreplied connection (it matters for the timeouts above).
    private void MarkSeenReply(int slot, ConnDirection dir)
    {
        ref var e = ref _entries[slot];
        if (dir != ConnDirection.Reply || (e.Flags & EntryFlags.SeenReply) != 0)
            return;
        e.Flags |= EntryFlags.SeenReply;
        if (e.State == ConnState.Unreplied)
            SetState(ref e, ConnState.Replied);
    }

    private void SetAssured(int slot)
    {
        ref var e = ref _entries[slot];
        e.Flags |= EntryFlags.Assured;
        UnlinkDropList(slot);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void SetState(ref ConntrackEntry e, ConnState state)
    {
        if (e.State == state)
            return;
        _stateCounts[(int)e.State]--;
        _stateCounts[(int)state]++;
        e.State = state;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Account(ref ConntrackEntry e, ConnDirection dir, int frameLength, long now)
    {
        if (dir == ConnDirection.Original)
        {
            e.OriginalPackets++;
            e.OriginalBytes += frameLength;
        }
        else
        {
            e.ReplyPackets++;
            e.ReplyBytes += frameLength;
        }
        e.LastSeenTicks = now;
    }

    private static ConnDirection LastDir(in ConntrackEntry e) =>
        (e.Flags & EntryFlags.LastDirReply) != 0 ? ConnDirection.Reply : ConnDirection.Original;

    private static void SetLastDir(ref ConntrackEntry e, ConnDirection dir)
    {
        if (dir == ConnDirection.Reply)
            e.Flags |= EntryFlags.LastDirReply;
        else
            e.Flags &= ~EntryFlags.LastDirReply;
    }

    // ---------------------------------------------------------------- creation rules

    private const byte UdpLite = 136;

    private bool TryInitialState(in FlowKey original, in ParsedPacket first, out ConnState state, out int timeout)
    {
        switch (original.Protocol)
        {
            case IpProtocol.Tcp:
            {
                // Linux's tcp_new: the table's NONE column in the original direction decides; only SYN gives
                // SYN_SENT, a bare ACK gives ESTABLISHED when loose pickup is on.
                state = ConnState.None;
                timeout = 0;
                if (!TcpStateTable.HasValidFlags(first.TcpFlags))
                    return false;
                byte next = TcpStateTable.Next(ConnDirection.Original, TcpStateTable.Classify(first.TcpFlags), ConnState.None);
                if (next >= TcpStateTable.Invalid || (next != (byte)ConnState.SynSent && !_tcpLoose))
                    return false;
                state = (ConnState)next;
                timeout = _tcpTimeouts[next];
                if (state == ConnState.Established && timeout > _tcpUnacknowledged)
                    timeout = _tcpUnacknowledged;
                return true;
            }
            case IpProtocol.Udp or UdpLite:
                state = ConnState.Unreplied;
                timeout = _udpTimeout;
                return true;
            case IpProtocol.Icmp or IpProtocol.IcmpV6:
                state = ConnState.Unreplied;
                timeout = _icmpTimeout;
                return !first.IsIcmpError && IsIcmpQueryRequest(original.Protocol, (byte)(original.DstPort >> 8));
            default:
                state = ConnState.Unreplied;
                timeout = _genericTimeout;
                return true;
        }
    }

    // Linux's icmp_new/icmpv6_new: only requests that expect an answer start a connection.
    private static bool IsIcmpQueryRequest(byte protocol, byte type) =>
        protocol == IpProtocol.Icmp ? type is 8 or 13 or 15 or 17 : type is 128 or 139;

    private static bool IsIcmpErrorType(byte protocol, byte type) =>
        protocol == IpProtocol.Icmp ? type is 3 or 4 or 5 or 11 or 12 : protocol == IpProtocol.IcmpV6 && type < 128;

    // ---------------------------------------------------------------- slots and index

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static FlowKey Normalize(in FlowKey key) => key.InPort == 0 ? key : key.WithInPort(0, key.Vni);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool IsLive(ConnectionId id) =>
        (uint)id.Slot < (uint)_used
        && _entries[id.Slot].Generation == id.Generation
        && (_entries[id.Slot].Flags & EntryFlags.InUse) != 0;

    private bool TryFindLive(in FlowKey normalized, long now, out ConnectionId id, out ConnDirection direction)
    {
        if (!TryLookup(normalized, out id, out direction))
            return false;
        if (now < _entries[id.Slot].DeadlineTicks)
            return true;
        // An expired entry not yet reaped must not block the connection that replaces it.
        RemoveSlot(id.Slot, ConntrackRemoveReason.Timeout, now);
        id = ConnectionId.None;
        return false;
    }

    private int AllocateSlot()
    {
        if (_freeHead != NoSlot)
        {
            int slot = _freeHead;
            _freeHead = _entries[slot].WheelNext;
            return slot;
        }
        if (_used == _entries.Capacity)
            _entries.Grow();
        int fresh = _used++;
        _entries[fresh].Generation = 1;
        return fresh;
    }

    private void RemoveSlot(int slot, ConntrackRemoveReason reason, long now)
    {
        var observer = Observer;
        ConnectionInfo info = observer is null ? default : BuildInfo(slot, now);
        ref var e = ref _entries[slot];
        UnlinkWheel(slot);
        UnlinkDropList(slot);
        var originalKey = Normalize(e.Original);
        IndexRemove(originalKey);
        var replyKey = Normalize(e.Reply);
        if (!replyKey.Equals(originalKey))
            IndexRemove(replyKey);
        _stateCounts[(int)e.State]--;
        _count--;
        var id = new ConnectionId(slot, e.Generation);
        e.Flags = EntryFlags.None;
        e.Generation = e.Generation == uint.MaxValue ? 1 : e.Generation + 1;
        e.WheelNext = _freeHead;
        _freeHead = slot;

        if (observer is not null)
        {
            _notifying = true;
            try
            {
                observer.OnRemoved(id, info, reason);
            }
            finally
            {
                _notifying = false;
            }
        }
    }

    private ConnectionInfo BuildInfo(int slot, long now)
    {
        ref var e = ref _entries[slot];
        long left = Math.Max(0, e.DeadlineTicks - now);
        return new ConnectionInfo
        {
            Id = new ConnectionId(slot, e.Generation),
            Original = e.Original,
            Reply = e.Reply,
            State = e.State,
            TimeoutRemaining = TimeSpan.FromSeconds((double)left / _frequency),
            OriginalPackets = e.OriginalPackets,
            OriginalBytes = e.OriginalBytes,
            ReplyPackets = e.ReplyPackets,
            ReplyBytes = e.ReplyBytes,
            CreatedTicks = e.CreatedTicks,
            LastSeenTicks = e.LastSeenTicks,
            SeenReply = (e.Flags & EntryFlags.SeenReply) != 0,
            Assured = (e.Flags & EntryFlags.Assured) != 0,
        };
    }

    private void ThrowIfNotifying()
    {
        if (_notifying)
            ThrowReentrant();
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowReentrant() =>
        throw new InvalidOperationException("An IConntrackObserver must not modify the conntrack table from its callback.");
}
