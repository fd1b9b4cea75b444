using Offload.Actions;
using Offload.Backends;
using Offload.Conntrack;
using Offload.Flows;
using Offload.Packets;

namespace Offload.Datapath;

// Misses: the slow path's decision, conntrack, and installing both directions of a connection.
public sealed partial class Datapath
{
    private void SlowPath(ref InputFrame frame, int i, long now)
    {
        ref var p = ref _parsed[i];
        var key = _keys[i];
        if (p.IsIp && _pending.TryGetValue(key, out var waiting))
        {
            Hold(waiting, ref frame, i);
            return;
        }

        var connection = ConnectionId.None;
        var direction = ConnDirection.Original;
        bool related = false;
        if (p.IsIcmpError)
        {
            if (_conntrack.TryLookupRelated(in p, key.Vni, out connection, out direction))
            {
                related = true;
                // An error about a connection follows that connection's flow for its direction (claim C5: RELATED).
                if (RecordOf(connection).Id == connection && _conntrack.TryGet(connection, out var info))
                {
                    var flowKey = direction == ConnDirection.Original ? info.Original : info.Reply;
                    if (_backend.TryLookup(flowKey, out int handle, out var entry) && _backend.GetProgram(entry.ProgramId) is { } program)
                    {
                        int bytes = frame.Buffer.Length;
                        var outcome = ActionExecutor.Apply(program, in entry.Nat, ref frame.Buffer, ref p, _tunnelLength[i], _meters, now);
                        _backend.RecordHit(handle, bytes, now);
                        _fastFrames++;
                        // RELATED packets do not advance the connection; report the state it is in.
                        Emit(ref frame, key, outcome, PacketPath.Fast, connection, info.State, (int)Math.Round(info.TimeoutRemaining.TotalSeconds));
                        return;
                    }
                }
            }
        }
        else if (p.IsIp)
        {
            _conntrack.TryLookup(key, out connection, out direction);
        }

        var tracked = default(ConnectionInfo);
        if (!connection.IsNone)
            _conntrack.TryGet(connection, out tracked);
        var request = new SlowPathRequest
        {
            Tracked = tracked,
            InPort = frame.InPort,
            Key = key,
            Packet = p,
            Frame = frame.Buffer.Array.AsMemory(frame.Buffer.Offset, frame.Buffer.Length),
            TunnelHeaderLength = _tunnelLength[i],
            Connection = connection,
            Direction = direction,
            IsRelated = related,
            Timestamp = now,
        };

        ValueTask<SlowPathDecision> decision;
        try
        {
            decision = _slowPath.DecideAsync(request, _stopping.Token);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            _slowFrames++;
            EmitDrop(ref frame, key, DropReason.SlowPathError, PacketPath.Slow);
            return;
        }

        if (decision.IsCompleted)
        {
            ApplyDecision(ref frame, ref p, key, _tunnelLength[i], request, Result(decision), now);
            return;
        }

        if (!p.IsIp || _pending.Count >= _options.MaxPendingConnections)
        {
            // Nothing to hold frames by (non-IP), or too many decisions in flight: the frame is dropped
            // with a reason and the decision, when it comes, still takes effect for later frames.
            _ = decision.AsTask();
            _slowFrames++;
            EmitDrop(ref frame, key, DropReason.PendingQueueFull, PacketPath.Slow);
            return;
        }

        var pending = new PendingDecision(this, key, request with { Frame = CopyFrame(in frame.Buffer) });
        pending.Frames.Enqueue(new HeldFrame(CopyBuffer(in frame.Buffer), frame.InPort, frame.Cookie));
        _framesHeld++;
        _pending.Add(key, pending);
        var task = decision.AsTask();
        task.ContinueWith(static (t, state) =>
        {
            var pd = (PendingDecision)state!;
            pd.Completed = t;
            pd.Owner._decided.Enqueue(pd);
        }, pending, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private static SlowPathDecision? Result(ValueTask<SlowPathDecision> decision)
    {
        if (!decision.IsCompletedSuccessfully)
        {
            _ = decision.AsTask().Exception; // observe the fault
            return null;
        }
        return decision.Result;
    }

    private void Hold(PendingDecision pending, ref InputFrame frame, int i)
    {
        if (pending.Frames.Count >= _options.PendingFramesPerConnection)
        {
            _slowFrames++;
            EmitDrop(ref frame, _keys[i], DropReason.PendingQueueFull, PacketPath.Slow);
            return;
        }
        pending.Frames.Enqueue(new HeldFrame(CopyBuffer(in frame.Buffer), frame.InPort, frame.Cookie));
        _framesHeld++;
    }

    private void ApplyDecision(ref InputFrame frame, ref ParsedPacket p, in FlowKey key, int tunnelLength,
        SlowPathRequest request, SlowPathDecision? decision, long now)
    {
        _slowFrames++;
        if (decision is null)
        {
            EmitDrop(ref frame, key, DropReason.SlowPathError, PacketPath.Slow);
            return;
        }
        if (decision.Response is { } response)
        {
            Count(ActionVerdict.Output, DropReason.None);
            var result = new FrameResult
            {
                Cookie = frame.Cookie, InPort = frame.InPort, Key = key, Path = PacketPath.Slow,
                Verdict = ActionVerdict.Output, OutPort = decision.ResponsePort, IsResponse = true,
            };
            _sink.OnFrame(in result, response);
            return;
        }
        if (decision.Verdict == ActionVerdict.Drop)
        {
            if (decision.InstallDropFlow && p.IsIp && !request.IsRelated && decision.Action.Program is not null)
            {
                Submit(FlowOperation.Add(key, decision.Action, idleTimeout: _options.DropFlowIdleTimeout));
                _dropFlows.Add(key);
                _installEpoch++;
            }
            EmitDrop(ref frame, key, decision.Reason == DropReason.None ? DropReason.Policy : decision.Reason, PacketPath.Slow,
                request.Connection, default, 0);
            return;
        }

        var connection = request.Connection;
        var direction = request.Direction;
        var state = default(ConnState);
        int timeout = 0;
        if (p.IsIp && decision.Track && !request.IsRelated)
        {
            if (!Track(ref p, key, request, decision, ref connection, ref direction, out state, out timeout, out var reason))
            {
                EmitDrop(ref frame, key, reason, PacketPath.Slow, connection, state, timeout);
                return;
            }
        }

        if (decision.Action.Program is null)
        {
            EmitDrop(ref frame, key, DropReason.SlowPathError, PacketPath.Slow, connection, state, timeout);
            return;
        }
        var nat = decision.Action.Nat;
        var outcome = ActionExecutor.Apply(decision.Action.Program, in nat, ref frame.Buffer, ref p, tunnelLength, _meters, now);
        Emit(ref frame, key, outcome, PacketPath.Slow, connection, state, timeout);
    }

    // Records the packet in conntrack (creating the connection for a first packet), remembers the
    // decision for both directions, and installs the flows once the offload policy allows.
    private bool Track(ref ParsedPacket p, in FlowKey key, SlowPathRequest request, SlowPathDecision decision, ref ConnectionId connection,
        ref ConnDirection direction, out ConnState state, out int timeout, out DropReason reason)
    {
        state = default;
        timeout = 0;
        reason = DropReason.None;
        bool created = false;
    Create:
        if (connection.IsNone || !_conntrack.Contains(connection))
        {
            FlowKey replyKey;
            if (decision.ReplyKey is { } rk)
                replyKey = rk;
            else if (!key.TryInvert(0, key.Vni, out replyKey))
                replyKey = default;
            var result = _conntrack.TryCreate(key, replyKey, in p, out connection);
            switch (result)
            {
                case ConntrackCreateResult.Created:
                    direction = ConnDirection.Original;
                    created = true;
                    break;
                case ConntrackCreateResult.Exists:
                    // Another decision for this tuple won; ours held nothing the connection uses.
                    _observer?.OnDecisionDiscarded(request, decision);
                    _conntrack.TryLookup(key, out connection, out direction);
                    break;
                case ConntrackCreateResult.Full:
                    _observer?.OnDecisionDiscarded(request, decision);
                    reason = DropReason.ConntrackFull;
                    return false;
                default:
                    _observer?.OnDecisionDiscarded(request, decision);
                    reason = DropReason.ConntrackInvalid;
                    return false;
            }
        }

        if (!created)
        {
            var update = _conntrack.Update(connection, direction, in p);
            if (update.Verdict == ConntrackVerdict.Reopen)
            {
                // A SYN re-opened a closing connection: the old entry is gone (its flows with it); start anew.
                connection = ConnectionId.None;
                goto Create;
            }
            state = update.State;
            timeout = update.TimeoutSeconds;
            if (update.IsInvalid || update.Verdict == ConntrackVerdict.NotFound)
            {
                reason = DropReason.ConntrackInvalid;
                return false;
            }
        }

        // One read of the entry serves the reported state, the reply check and the install below.
        var info = _conntrack.Get(connection);
        NoteSlowPathPacket(connection, info.LastSeenTicks);
        if (created)
        {
            state = info.State;
            timeout = (int)Math.Round(info.TimeoutRemaining.TotalSeconds);
        }
        ref var record = ref RecordOf(connection);
        if (record.Id != connection)
            record = new ConnectionRecord { Id = connection };
        bool original = direction == ConnDirection.Original;
        // The flow keys live in the conntrack entry (original and reply tuples, with their ingress ports);
        // the record keeps what conntrack does not: the actions of both directions.
        if (original)
        {
            record.OriginalAction = decision.Action;
            if (decision.ReplyKey is not null && decision.ReplyAction.Program is not null)
            {
                record.ReplyAction = decision.ReplyAction;
                record.HasReply = true;
            }
        }
        else
        {
            record.ReplyAction = decision.Action;
            // Installable only if conntrack's reply tuple is this packet's exact key (ingress port included).
            record.HasReply = info.Reply.Equals(key);
            if (decision.ReplyAction.Program is not null)
                record.OriginalAction = decision.ReplyAction;
        }
        record.Provenance = decision.Provenance;
        if (record.HasOriginalAction && MayOffload(in info, state))
            Install(ref record, in info);
        return true;
    }

    private bool MayOffload(in ConnectionInfo info, ConnState state)
    {
        var policy = _options.Offload;
        if (policy.When == OffloadTrigger.Established && state is not (ConnState.Established or ConnState.Replied or ConnState.Assured))
            return false;
        return policy.MinPackets == 0 || info.OriginalPackets + info.ReplyPackets >= policy.MinPackets;
    }

    private void Install(ref ConnectionRecord record, in ConnectionInfo info)
    {
        long cookie = Cookie(record.Id);
        var idle = DeviceIdleTimeout(in info);
        if ((record.Installed & InstalledOriginal) == 0)
        {
            Submit(FlowOperation.Add(info.Original, record.OriginalAction, record.Id, ConnDirection.Original, idle, cookie));
            record.Installed |= InstalledOriginal;
            _flowsInstalled++;
        }
        if (record.HasReply && (record.Installed & InstalledReply) == 0)
        {
            Submit(FlowOperation.Add(info.Reply, record.ReplyAction, record.Id, ConnDirection.Reply, idle, cookie));
            record.Installed |= InstalledReply;
            _flowsInstalled++;
        }
        _installEpoch++;
        WatchDeviceConnection(record.Id, in info, idle);
    }

    // Completions carry the connection in their cookie so failures find their connection without a lookup.
    private static long Cookie(ConnectionId id) => ((long)id.Generation << 32) | (uint)id.Slot;

    private static ConnectionId FromCookie(long cookie) => new((int)(uint)cookie, (uint)(cookie >> 32));

    private const byte InstalledOriginal = 1;
    private const byte InstalledReply = 2;

    private void OnConnectionRemoved(ConnectionId id, in ConnectionInfo info, ConntrackRemoveReason reason)
    {
        _observer?.OnConnectionRemoved(in info, reason);
        ForgetDeviceConnection(id);
        ref var record = ref RecordOf(id);
        if (record.Id != id)
            return;
        if ((record.Installed & InstalledOriginal) != 0)
        {
            Submit(FlowOperation.Remove(info.Original));
            _flowsRemoved++;
        }
        if ((record.Installed & InstalledReply) != 0)
        {
            Submit(FlowOperation.Remove(info.Reply));
            _flowsRemoved++;
        }
        record = default;
    }

    private ref ConnectionRecord RecordOf(ConnectionId id)
    {
        int index = id.Slot;
        if (index >= _connections.Length)
        {
            // Conntrack just doubled its slots: follow it in one step.
            int size = Math.Max(_conntrack.Capacity, index + 1);
            Array.Resize(ref _connections, size);
        }
        return ref _connections[index];
    }
}
