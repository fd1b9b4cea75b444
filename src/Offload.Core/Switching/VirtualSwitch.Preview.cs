using Offload.Actions;
using Offload.Conntrack;
using Offload.Datapath;
using Offload.Flows;
using Offload.Policy;

namespace Offload.Switching;

// Dry run of a policy change: what ApplyPolicy would do to the live connections, changing nothing.
public sealed partial class VirtualSwitch
{
    /// <summary>
    /// Reports what <see cref="ApplyPolicy"/> with <paramref name="policy"/> would do to the tracked connections —
    /// how many would keep their actions, get new ones, or be removed because the new policy denies them — and the
    /// first <paramref name="maxSamples"/> affected connections with their old and new verdicts. Nothing changes:
    /// not the policy, the flows, the port numbering, the NAT bindings nor the load-balancer counts.
    /// </summary>
    /// <remarks>
    /// Each connection is judged by the same re-derivation that revalidation runs (<see cref="PolicySlowPath.Revalidate"/>)
    /// against <paramref name="policy"/> compiled on the side. Its current actions are re-derived from the policy in
    /// force, which is what every connection holds once the last revalidation has completed; while a revalidation
    /// started with <see cref="Datapath.Datapath.StartRevalidation"/> is still running the counts describe the
    /// state it is heading to. Call on the thread that drives the switch. Cost: one compile of
    /// <paramref name="policy"/> and two derivations per tracked connection.
    /// </remarks>
    public PolicyPreview PreviewPolicy(PolicySnapshot policy, int maxSamples = 20)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentOutOfRangeException.ThrowIfNegative(maxSamples);
        // A copy of the numbering: compiling a policy names its new ports, and a preview must not.
        var candidate = new PolicySlowPath(policy, CopyOf(Ports));
        var samples = new List<PolicyPreviewConnection>(Math.Min(maxSamples, 64));
        int unchanged = 0, updated = 0, removed = 0;
        var connections = Conntrack.Snapshot();
        foreach (var connection in connections)
        {
            // Revalidating against no actions returns the actions the policy in force derives (or its drop).
            var now = _slowPath.Revalidate(in connection, default, default, null);
            FlowAction original = now.Verdict == RevalidationVerdict.Update ? now.Original : default;
            FlowAction reply = now.Verdict == RevalidationVerdict.Update ? now.Reply : default;
            var next = candidate.Revalidate(in connection, in original, in reply, null);
            PolicyPreviewChange change;
            switch (next.Verdict)
            {
                case RevalidationVerdict.Keep:
                    unchanged++;
                    continue;
                case RevalidationVerdict.Update:
                    updated++;
                    change = PolicyPreviewChange.Updated;
                    break;
                default:
                    removed++;
                    change = PolicyPreviewChange.Removed;
                    break;
            }
            if (samples.Count < maxSamples)
            {
                samples.Add(new PolicyPreviewConnection(connection.Original, connection.Reply, connection.State, change,
                    Verdict(now, Ports), Verdict(next, candidate.Ports)));
            }
        }
        int dropFlows = 0;
        foreach (var flow in Backend.Snapshot())
        {
            // Cached drops belong to no connection; revalidation removes them all so their next packet re-decides.
            if (flow.Connection.IsNone)
                dropFlows++;
        }
        return new PolicyPreview(connections.Count, unchanged, updated, removed, dropFlows, samples);
    }

    private static PolicyPreviewVerdict Verdict(in RevalidationDecision decision, PortRegistry ports)
    {
        if (decision.Verdict == RevalidationVerdict.Remove)
            return new PolicyPreviewVerdict(false, default, default, decision.Reason, null);
        var program = decision.Original.Program;
        string? outPort = program is not null && program.Verdict == ActionVerdict.Output ? ports.NameOf(program.OutPort) : null;
        return new PolicyPreviewVerdict(true, decision.Original, decision.Reply, DropReason.None, outPort);
    }

    private static PortRegistry CopyOf(PortRegistry ports)
    {
        // Numbers are handed out in order from the uplink's up with no gaps, so adding the names in number order
        // reproduces every number, and the copy names a new port as the original would.
        var copy = new PortRegistry();
        for (int n = PortRegistry.Uplink + 1; n < ushort.MaxValue && ports.NameOf((ushort)n) is { } name; n++)
            copy.GetOrAdd(name);
        return copy;
    }
}

/// <summary>What a policy would do to one live connection.</summary>
public enum PolicyPreviewChange : byte
{
    /// <summary>Its flows would get new actions (same tuples, NAT bindings and backend).</summary>
    Updated,
    /// <summary>The connection and its flows would be removed: the policy denies it, or its tuples would change.</summary>
    Removed,
}

/// <summary>A connection's verdict under one policy.</summary>
/// <param name="Allowed">True when the policy forwards it; false when it drops it.</param>
/// <param name="Original">The original direction's action when allowed.</param>
/// <param name="Reply">The reply direction's action when allowed.</param>
/// <param name="Reason">Why it is dropped when not allowed.</param>
/// <param name="OutPort">The original direction's output port name when allowed ("uplink" for the uplink).</param>
public readonly record struct PolicyPreviewVerdict(bool Allowed, FlowAction Original, FlowAction Reply, DropReason Reason, string? OutPort)
{
    /// <summary>"forward to vm2: &lt;action&gt;", or "drop: acl".</summary>
    public override string ToString() =>
        Allowed ? $"forward to {OutPort ?? "?"}: {Original}" : $"drop: {Reason.Name()}";
}

/// <summary>One live connection a policy would affect.</summary>
/// <param name="Original">The connection's original-direction key.</param>
/// <param name="Reply">Its reply-direction key.</param>
/// <param name="State">Its conntrack state.</param>
/// <param name="Change">Updated or removed.</param>
/// <param name="Before">Its verdict under the policy in force.</param>
/// <param name="After">Its verdict under the previewed policy.</param>
public sealed record PolicyPreviewConnection(FlowKey Original, FlowKey Reply, ConnState State, PolicyPreviewChange Change,
    PolicyPreviewVerdict Before, PolicyPreviewVerdict After);

/// <summary>
/// What applying a policy would do to the live flows (see <see cref="VirtualSwitch.PreviewPolicy"/>). The counts
/// are those <see cref="RevalidationResult"/> would report if the policy were applied at once.
/// </summary>
/// <param name="Checked">Tracked connections judged.</param>
/// <param name="Unchanged">Connections that would keep their actions.</param>
/// <param name="Updated">Connections whose flows would get new actions.</param>
/// <param name="Removed">Connections that would be removed.</param>
/// <param name="DropFlowsRemoved">Cached drop flows that would be removed (their next packet is decided afresh).</param>
/// <param name="Samples">The first affected connections, in conntrack order.</param>
public sealed record PolicyPreview(int Checked, int Unchanged, int Updated, int Removed, int DropFlowsRemoved,
    IReadOnlyList<PolicyPreviewConnection> Samples)
{
    /// <summary>True when no connection would be updated or removed.</summary>
    public bool IsNoOp => Updated == 0 && Removed == 0;

    /// <summary>"12 connections: 9 unchanged, 2 updated, 1 removed; 1 cached drop flow removed".</summary>
    public override string ToString() =>
        $"{Checked} connections: {Unchanged} unchanged, {Updated} updated, {Removed} removed; {DropFlowsRemoved} cached drop flow{(DropFlowsRemoved == 1 ? "" : "s")} removed";
}
