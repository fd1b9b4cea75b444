using Offload.Actions;
using Offload.Conntrack;
using Offload.Datapath;
using Offload.Kernel.Conntrack;
using Offload.Kernel.Netlink;

namespace Offload.Kernel.SlowPath;

// Policy changes (claim S4): offloaded connections re-derived; denied ones removed from the kernel too.
public sealed partial class KernelSlowPath : IConnectionRevalidator
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<ConntrackTuple> _deletes = new();

    /// <summary>
    /// Re-derives one connection after <see cref="ApplyPolicy"/>. The kernel never re-checks an established connection
    /// against a new ruleset (<c>ct state established</c> is accepted first), so whether the new policy still admits it
    /// is asked of the policy itself, as <see cref="Switching.PolicySlowPath"/> decides it; a denied connection is removed from the
    /// fast path and its kernel conntrack entry deleted, so its next packet meets the new ruleset. An admitted one gets
    /// the actions the topology now gives its tuples (a moved port, a new MAC).
    /// </summary>
    public RevalidationDecision Revalidate(in ConnectionInfo connection, in FlowAction original, in FlowAction reply, object? provenance)
    {
        try
        {
            State state = _state;
            RevalidationDecision verdict = state.Neighbours.Revalidate(connection, original, reply, provenance);
            if (verdict.Verdict == RevalidationVerdict.Remove)
                return Forget(connection, verdict);
            if (!state.Builder.TryBuild(ConntrackTuple.FromFlowKey(connection.Original), ConntrackTuple.FromFlowKey(connection.Reply), out KernelConnectionFlows flows)
                || !flows.OriginalKey.Equals(connection.Original) || !flows.ReplyKey.Equals(connection.Reply))
                return Forget(connection, RevalidationDecision.Remove(DropReason.NoRoute)); // its keys would change: a new connection must be made
            return flows.Original.Equals(original) && flows.Reply.Equals(reply)
                ? RevalidationDecision.Keep
                : RevalidationDecision.Update(flows.Original, flows.Reply, provenance);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Called on the datapath's thread: never throw; the connection keeps its flows until the next pass.
            Interlocked.Increment(ref _errors);
            return RevalidationDecision.Keep;
        }
    }

    private RevalidationDecision Forget(in ConnectionInfo connection, RevalidationDecision verdict)
    {
        _deletes.Enqueue(ConntrackTuple.FromFlowKey(connection.Original));
        _wake.Set();
        return verdict;
    }

    // On the adapter's thread, which owns the ctnetlink socket.
    private void DeleteRevoked()
    {
        while (_deletes.TryDequeue(out ConntrackTuple tuple))
        {
            try
            {
                _conntrack.Delete(tuple);
            }
            catch (NetlinkException)
            {
                // gone already (expired, or deleted by hand): what we want
            }
        }
    }
}
