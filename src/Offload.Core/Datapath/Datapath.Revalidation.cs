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
    /// <see cref="Poll"/>, <see cref="DatapathOptions.RevalidationSlice"/> connections per call, so the packet path keeps
    /// running; the task completes when every connection has been checked. Once it has, no packet of a
    /// connection the new policy denies is forwarded. A new call restarts a pass still running.
    /// </summary>
    public Task<RevalidationResult> StartRevalidation(IConnectionRevalidator revalidator)
    {
        ArgumentNullException.ThrowIfNull(revalidator);
        ObjectDisposedException.ThrowIf(_disposed, this);
        _revalidation?.Done.TrySetCanceled();
        var run = new RevalidationRun(revalidator, _time.GetTimestamp());
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
            RevalidateSlice(int.MaxValue);
        return task.GetAwaiter().GetResult();
    }

    private int RevalidateSlice(int budget)
    {
        var run = _revalidation;
        if (run is null)
            return 0;
        int done = 0;
        while (done < budget && run.Next < _connections.Length)
        {
            int slot = run.Next++;
            ref var record = ref _connections[slot];
            if (record.Id.IsNone || !_conntrack.TryGet(record.Id, out var info))
                continue;
            done++;
            run.Checked++;
            var decision = run.Revalidator.Revalidate(in info, in record.OriginalAction, in record.ReplyAction, record.Provenance);
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
        }
        if (run.Next >= _connections.Length)
        {
            _revalidation = null;
            _installEpoch++;
            var elapsed = _time.GetElapsedTime(run.Started);
            run.Done.TrySetResult(new RevalidationResult(run.Checked, run.Updated, run.Removed, run.DropFlowsRemoved, elapsed));
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
                Submit(FlowOperation.Update(info.Original, decision.Original, record.Id, ConnDirection.Original, cookie: cookie));
        }
        if (decision.Reply.Program is not null)
        {
            record.ReplyAction = decision.Reply;
            if ((record.Installed & InstalledReply) != 0)
                Submit(FlowOperation.Update(info.Reply, decision.Reply, record.Id, ConnDirection.Reply, cookie: cookie));
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
    }
}
