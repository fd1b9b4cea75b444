using Offload.Actions;
using Offload.Backends;
using Offload.Conntrack;
using Offload.Flows;

namespace Offload.Datapath;

// Revalidation after a policy change (claim S4): every tracked connection is re-derived, in slices
// from Poll so packets keep flowing, and its flows updated or removed.
public sealed partial class Datapath
{
    private RevalidationRun? _revalidation;

    /// <summary>
    /// Starts re-deriving every tracked connection with <paramref name="revalidator"/>. The work is done by
    /// <see cref="Poll"/> in time-budgeted slices (<see cref="DatapathOptions.RevalidationBudget"/>,
    /// <see cref="DatapathOptions.RevalidationShare"/>, <see cref="DatapathOptions.RevalidationSlice"/>), so the packet
    /// path keeps running; the task completes when every connection has been checked. Once it has, no packet of a
    /// connection the new policy denies is forwarded. A new call restarts a pass still running.
    /// </summary>
    public Task<RevalidationResult> StartRevalidation(IConnectionRevalidator revalidator)
    {
        ArgumentNullException.ThrowIfNull(revalidator);
        ObjectDisposedException.ThrowIf(_disposed, this);
        _revalidation?.Done.TrySetCanceled();
        long now = _time.GetTimestamp();
        var run = new RevalidationRun(revalidator, now) { SliceEnded = now, FramesAtSliceEnd = _frames };
        _revalidation = run;
        // Cached drop decisions may now be allowed: drop them from the fast path; their next packet re-decides.
        foreach (var key in _dropFlows)
        {
            Submit(FlowOperation.Remove(key));
            run.DropFlowsRemoved++;
            _flowsRemoved++;
        }
        _dropFlows.Clear();
        _installEpoch++;
        return run.Done.Task;
    }

    /// <summary>Revalidates every connection now, on the calling (datapath) thread.</summary>
    public RevalidationResult Revalidate(IConnectionRevalidator revalidator)
    {
        var task = StartRevalidation(revalidator);
        while (!task.IsCompleted)
            RevalidateSlice(int.MaxValue, long.MaxValue);
        return task.GetAwaiter().GetResult();
    }

    // Poll's slice. Revalidation shares the one datapath thread with the fast path: counting connections
    // would let a slice of expensive re-derivations starve traffic, so the slice is bounded by time, and
    // while frames flow by a share of the time that passed since the previous slice. A slice ends after
    // the connection that crosses its budget, so the overrun is charged to the next one.
    private int RevalidatePollSlice()
    {
        var run = _revalidation;
        if (run is null)
            return 0;
        long max = (long)(_options.RevalidationBudget.TotalSeconds * _time.TimestampFrequency);
        long budget = max;
        if (_frames != run.FramesAtSliceEnd)
        {
            double share = _options.RevalidationShare;
            long now = _time.GetTimestamp();
            budget = Math.Min((long)((now - run.SliceEnded) * (share / (1 - share))), max) - run.Overrun;
            if (budget <= 0)
            {
                run.Overrun = -budget;
                run.SliceEnded = now;
                run.FramesAtSliceEnd = _frames;
                return 0;
            }
        }
        return RevalidateSlice(_options.RevalidationSlice, budget);
    }

    // Re-derives connections until maxConnections are checked or budgetTicks have passed (at least one
    // connection per call, so a pass always ends). long.MaxValue: no time limit, no clock reads.
    private int RevalidateSlice(int maxConnections, long budgetTicks)
    {
        var run = _revalidation;
        if (run is null)
            return 0;
        bool timed = budgetTicks != long.MaxValue;
        long start = timed ? _time.GetTimestamp() : 0;
        int done = 0;
        while (done < maxConnections && run.Next < _connections.Length)
        {
            int slot = run.Next++;
            ref var record = ref _connections[slot];
            if (record.Id.IsNone || !_conntrack.TryGet(record.Id, out var info))
                continue;
            done++;
            run.Checked++;
            var original = record.OriginalAction;
            var reply = record.ReplyAction;
            var decision = run.Revalidator.Revalidate(in info, in original, in reply, record.Provenance);
            switch (decision.Verdict)
            {
                case RevalidationVerdict.Update:
                    ApplyRevalidation(ref record, in info, in decision);
                    run.Updated++;
                    break;
                case RevalidationVerdict.Remove:
                    // The observer removes both flows; the next packet of the tuple meets the new policy.
                    _conntrack.Remove(record.Id, ConntrackRemoveReason.Explicit);
                    run.Removed++;
                    break;
            }
            if (timed && _time.GetTimestamp() - start >= budgetTicks)
                break;
        }
        if (run.Next >= _connections.Length)
        {
            _revalidation = null;
            _installEpoch++;
            var elapsed = _time.GetElapsedTime(run.Started);
            run.Done.TrySetResult(new RevalidationResult(run.Checked, run.Updated, run.Removed, run.DropFlowsRemoved, elapsed));
        }
        else
        {
            run.SliceEnded = _time.GetTimestamp();
            run.FramesAtSliceEnd = _frames;
            run.Overrun = timed ? Math.Max(0, run.SliceEnded - start - budgetTicks) : 0;
        }
        return done;
    }

    private void ApplyRevalidation(ref ConnectionRecord record, in ConnectionInfo info, in RevalidationDecision decision)
    {
        long cookie = Cookie(record.Id);
        if (decision.Original.Program is not null)
        {
            record.OriginalAction = decision.Original;
            if ((record.Installed & InstalledOriginal) != 0)
                Submit(FlowOperation.Update(info.Original, decision.Original, record.Id, ConnDirection.Original, DeviceIdleTimeout(in info), cookie));
        }
        if (decision.Reply.Program is not null)
        {
            record.ReplyAction = decision.Reply;
            if ((record.Installed & InstalledReply) != 0)
                Submit(FlowOperation.Update(info.Reply, decision.Reply, record.Id, ConnDirection.Reply, DeviceIdleTimeout(in info), cookie));
        }
        record.Provenance = decision.Provenance ?? record.Provenance;
    }

    private sealed class RevalidationRun(IConnectionRevalidator revalidator, long started)
    {
        public IConnectionRevalidator Revalidator { get; } = revalidator;
        public long Started { get; } = started;
        public TaskCompletionSource<RevalidationResult> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public int Next;
        public int Checked;
        public int Updated;
        public int Removed;
        public int DropFlowsRemoved;
        public long SliceEnded;
        public long FramesAtSliceEnd;
        public long Overrun;
    }
}
