using Offload.Flows;
using Offload.Packets;

namespace Offload.Conntrack;

// Import: a connection that another tracker already follows (the kernel's conntrack, read back by a restarted agent)
// enters the table in the state and with the time left that tracker reports, instead of starting from a first packet.
public sealed partial class ConntrackTable
{
    /// <summary>Imports a connection in a given state, at the current time.</summary>
    /// <inheritdoc cref="TryImport(in FlowKey, in FlowKey, ConnState, TimeSpan, bool, bool, long, out ConnectionId)"/>
    public ConntrackCreateResult TryImport(in FlowKey original, in FlowKey reply, ConnState state, TimeSpan timeoutRemaining,
        bool seenReply, bool assured, out ConnectionId id) =>
        TryImport(original, reply, state, timeoutRemaining, seenReply, assured, _time.GetTimestamp(), out id);

    /// <summary>
    /// Creates a connection already under way: in <paramref name="state"/>, expiring <paramref name="timeoutRemaining"/>
    /// from <paramref name="nowTicks"/>, with no packet counted. Later packets advance it as any other connection.
    /// Unlike <see cref="TryCreate(in FlowKey, in FlowKey, in ParsedPacket, long, out ConnectionId)"/> a full table
    /// evicts nothing: an imported connection is not worth more than one the table already tracks.
    /// </summary>
    /// <param name="original">Key of the original direction.</param>
    /// <param name="reply">Key replies carry (after NAT).</param>
    /// <param name="state">A TCP state other than <see cref="ConnState.None"/> for TCP; <see cref="ConnState.Unreplied"/>,
    /// <see cref="ConnState.Replied"/> or <see cref="ConnState.Assured"/> for other protocols.</param>
    /// <param name="timeoutRemaining">Time left before expiry: more than zero, at most <see cref="ConntrackTimeouts.MaxSeconds"/>.</param>
    /// <param name="seenReply">A packet was seen in the reply direction (implied by <see cref="ConnState.Replied"/> and
    /// <see cref="ConnState.Assured"/>).</param>
    /// <param name="assured">Never early-dropped (implied by <see cref="ConnState.Assured"/>).</param>
    /// <param name="nowTicks">The current time, <see cref="TimeProvider.GetTimestamp"/> ticks.</param>
    /// <param name="id">The new connection, or the one already owning either tuple.</param>
    /// <returns><see cref="ConntrackCreateResult.Created"/>; <see cref="ConntrackCreateResult.Exists"/> when either tuple
    /// is tracked already; <see cref="ConntrackCreateResult.Full"/>; <see cref="ConntrackCreateResult.Invalid"/> when the
    /// state does not fit the protocol or the timeout is out of range.</returns>
    public ConntrackCreateResult TryImport(in FlowKey original, in FlowKey reply, ConnState state, TimeSpan timeoutRemaining,
        bool seenReply, bool assured, long nowTicks, out ConnectionId id)
    {
        ThrowIfNotifying();
        var originalKey = Normalize(original);
        var replyKey = Normalize(reply);
        if (TryFindLive(originalKey, nowTicks, out id, out _) || TryFindLive(replyKey, nowTicks, out id, out _))
            return ConntrackCreateResult.Exists;

        id = ConnectionId.None;
        if (!IsImportable(original.Protocol, state) || timeoutRemaining <= TimeSpan.Zero
            || timeoutRemaining > TimeSpan.FromSeconds(ConntrackTimeouts.MaxSeconds))
            return ConntrackCreateResult.Invalid;
        if (_count >= _maxEntries)
            return ConntrackCreateResult.Full;

        seenReply |= state is ConnState.Replied or ConnState.Assured;
        assured |= state == ConnState.Assured;
        int slot = AllocateSlot();
        ref var e = ref _entries[slot];
        e.Original = original;
        e.Protocol = original.Protocol;
        e.Reply = reply;
        e.CreatedTicks = nowTicks;
        e.LastSeenTicks = nowTicks;
        e.OriginalPackets = 0;
        e.OriginalBytes = 0;
        e.ReplyPackets = 0;
        e.ReplyBytes = 0;
        e.State = state;
        e.Flags = EntryFlags.InUse;
        if (seenReply)
            e.Flags |= EntryFlags.SeenReply;
        // A connection met closing was closed by a FIN (an RST leaves CLOSE): a new SYN may re-open it.
        if (state is ConnState.FinWait or ConnState.CloseWait or ConnState.LastAck or ConnState.TimeWait)
            e.Flags |= EntryFlags.CloseInit;
        e.LastIndex = NoIndex;
        e.DeadlineTicks = nowTicks + (long)(timeoutRemaining.TotalSeconds * _frequency);
        e.BucketSecond = NotInWheel;
        LinkWheel(slot, SecondOf(e.DeadlineTicks));
        if (assured)
            e.Flags |= EntryFlags.Assured;
        else
            LinkDropList(slot);

        id = Publish(slot, originalKey, replyKey, state);
        return ConntrackCreateResult.Created;
    }

    private static bool IsImportable(byte protocol, ConnState state) =>
        protocol == IpProtocol.Tcp
            ? state.IsTcp() && state != ConnState.None
            : state is ConnState.Unreplied or ConnState.Replied or ConnState.Assured;
}
