using Offload.Actions;
using Offload.Conntrack;
using Offload.Flows;

namespace Offload.Datapath;

// Import: a restarted agent rebuilds its fast path from connections the slow path still tracks (the kernel's conntrack
// dump), so live connections keep working without their packets going back to the slow path.
public sealed partial class Datapath
{
    /// <summary>
    /// Tracks a connection already under way and installs it as if the slow path had just decided its first packet:
    /// the conntrack entry starts in <paramref name="state"/> with <paramref name="timeoutRemaining"/> left and no packet
    /// counted; the flows of both directions are installed as the offload policy allows (<see cref="DatapathOptions.Offload"/>).
    /// Call it on the datapath's thread (before <see cref="Process(Span{InputFrame})"/> starts, or between calls).
    /// </summary>
    /// <param name="originalKey">The original direction's 7-tuple.</param>
    /// <param name="decision">What the slow path would decide for its first packet: a forwarding, tracked decision;
    /// <see cref="SlowPathDecision.ReplyKey"/> (after NAT) and <see cref="SlowPathDecision.ReplyAction"/> give the reply
    /// direction (without a reply key, the inverted original with ingress port 0 is tracked and no reply flow installed).</param>
    /// <param name="state">The connection's state: a TCP state for TCP; Unreplied, Replied or Assured otherwise.</param>
    /// <param name="timeoutRemaining">Time left before it expires (for the kernel: the entry's timeout).</param>
    /// <param name="seenReply">A reply was seen; by default derived from <paramref name="state"/> (Replied/Assured, or a
    /// TCP state past SYN_SENT).</param>
    /// <param name="assured">Never early-dropped; by default derived from <paramref name="state"/> (Assured, or TCP with a
    /// reply from ESTABLISHED on).</param>
    public ConnectionImportResult ImportConnection(in FlowKey originalKey, SlowPathDecision decision, ConnState state,
        TimeSpan timeoutRemaining, bool? seenReply = null, bool? assured = null)
    {
        ArgumentNullException.ThrowIfNull(decision);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (decision.Verdict != ActionVerdict.Output || !decision.Track || decision.Action.Program is null)
            return ConnectionImportResult.Invalid;

        FlowKey replyKey;
        if (decision.ReplyKey is { } rk)
            replyKey = rk;
        else if (!originalKey.TryInvert(0, originalKey.Vni, out replyKey))
            return ConnectionImportResult.Invalid;
        bool replied = seenReply ?? state is not (ConnState.None or ConnState.SynSent or ConnState.Unreplied);
        bool isAssured = assured ?? (state == ConnState.Assured
            || (replied && state is >= ConnState.Established and <= ConnState.Close));

        var result = _conntrack.TryImport(originalKey, replyKey, state, timeoutRemaining, replied, isAssured, out var id);
        switch (result)
        {
            case ConntrackCreateResult.Created:
                break;
            case ConntrackCreateResult.Exists:
                return ConnectionImportResult.Exists;
            case ConntrackCreateResult.Full:
                return ConnectionImportResult.TableFull;
            default:
                return ConnectionImportResult.Invalid;
        }

        var info = _conntrack.Get(id);
        NoteSlowPathPacket(id, info.LastSeenTicks);
        ref var record = ref RecordOf(id);
        record = new ConnectionRecord { Id = id, OriginalAction = decision.Action, Provenance = decision.Provenance };
        if (decision.ReplyKey is not null && decision.ReplyAction.Program is not null)
        {
            record.ReplyAction = decision.ReplyAction;
            record.HasReply = true;
        }
        if (MayOffload(in info, state))
            Install(ref record, in info);
        _imported++;
        return ConnectionImportResult.Imported;
    }
}
