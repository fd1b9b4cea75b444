using Offload.Backends;
using Offload.Conntrack;

namespace Offload.Datapath;

// Housekeeping on the datapath's thread: completed decisions and held frames, expiry, backend completions.
public sealed partial class Datapath
{
    /// <summary>
    /// Housekeeping, called regularly by the thread that drives <see cref="Process(Span{InputFrame})"/>: applies
    /// slow-path decisions that completed since the last call (and releases the frames held behind them),
    /// expires connections (removing their flows), and handles backend completions. Returns the work done.
    /// </summary>
    public int Poll()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        int work = 0;
        while (_decided.TryDequeue(out var pending))
        {
            ReleaseHeld(pending);
            work++;
        }
        work += KeepDeviceConnectionsAlive();
        work += PollSync();
        work += _conntrack.Expire();
        work += RevalidatePollSlice();
        work += DrainBackend();
        return work;
    }

    private void ReleaseHeld(PendingDecision pending)
    {
        _pending.Remove(pending.Key);
        var task = pending.Completed!;
        var decision = task.IsCompletedSuccessfully ? task.Result : null;
        long now = _time.GetTimestamp();
        bool first = true;
        while (pending.Frames.TryDequeue(out var held))
        {
            var input = new InputFrame(held.Buffer, held.InPort, held.Cookie);
            if (first)
            {
                first = false;
                // Re-parse: the held copy has its own buffer, so offsets must be taken afresh.
                int i = 0;
                if (Classify(ref input, i, now) != FrameClass.Done)
                    ApplyDecision(ref input, ref _parsed[i], _keys[i], _tunnelLength[i], pending.Request, decision, now);
            }
            else
            {
                Process(ref input);
            }
        }
    }

    private void OnCompletion(in FlowCompletion completion)
    {
        switch (completion.Status)
        {
            case FlowCompletionStatus.Success:
            case FlowCompletionStatus.NotFound when completion.Kind == FlowOperationKind.Remove:
                return;
            case FlowCompletionStatus.Aged:
                OnFlowAged(in completion);
                return;
            case FlowCompletionStatus.AlreadyExists when completion.Kind == FlowOperationKind.Add && completion.Cookie != 0:
            {
                // A flow of an older connection with the same key is still there: replace it.
                var id = FromCookie(completion.Cookie);
                ref var record = ref RecordOf(id);
                if (record.Id == id && _conntrack.TryGet(id, out var info))
                {
                    bool original = completion.Key.Equals(info.Original);
                    Submit(FlowOperation.Update(completion.Key, original ? record.OriginalAction : record.ReplyAction, id,
                        original ? ConnDirection.Original : ConnDirection.Reply, DeviceIdleTimeout(in info), completion.Cookie));
                }
                return;
            }
            default:
            {
                // Not installed (table full, unsupported, device error): the connection keeps working through the slow path.
                _installFailures++;
                if (completion.Kind == FlowOperationKind.Add && completion.Cookie != 0)
                {
                    var id = FromCookie(completion.Cookie);
                    ref var record = ref RecordOf(id);
                    if (record.Id == id && _conntrack.TryGet(id, out var info))
                        record.Installed &= (byte)~(completion.Key.Equals(info.Original) ? InstalledOriginal : InstalledReply);
                }
                return;
            }
        }
    }

    private void Submit(in FlowOperation operation)
    {
        if (_deferredOps.Count == 0 && _offload.TrySubmit(operation) != SubmitStatus.QueueFull)
            return;
        // Back-pressure: keep the operation, in order, until the backend has room. Never dropped —
        // a lost removal would be a stale allow. This thread also owns the completions, so it makes
        // room at once instead of waiting for the next Poll.
        _deferredOps.Enqueue(operation);
        _deferredOpsPeak = Math.Max(_deferredOpsPeak, _deferredOps.Count);
        if (!_draining)
            DrainBackend();
    }

    // Handles backend completions and submits deferred operations as room appears. Returns the
    // completions handled.
    private int DrainBackend()
    {
        _draining = true;
        int handled = 0;
        try
        {
            while (true)
            {
                int n = _offload.PollCompletions(_completions);
                for (int i = 0; i < n; i++)
                    OnCompletion(in _completions[i]); // may defer more operations, never recurses here
                handled += n;
                while (_deferredOps.TryPeek(out var op) && _offload.TrySubmit(op) != SubmitStatus.QueueFull)
                    _deferredOps.Dequeue();
                if (n == 0 || (_deferredOps.Count == 0 && n < _completions.Length))
                    break;
            }
        }
        finally
        {
            _draining = false;
        }
        if (_deferredOps.Count == 0 && _deferredOpsPeak > 4096)
        {
            _deferredOps.TrimExcess();
            _deferredOpsPeak = 0;
        }
        return handled;
    }
}
