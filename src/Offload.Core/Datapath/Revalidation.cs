using Offload.Actions;
using Offload.Conntrack;

namespace Offload.Datapath;

/// <summary>What a policy change means for one tracked connection.</summary>
public enum RevalidationVerdict : byte
{
    /// <summary>Same actions as before.</summary>
    Keep,
    /// <summary>New actions for its directions (same tuples: NAT bindings and backends are kept).</summary>
    Update,
    /// <summary>The new policy denies it: the connection and its flows are removed.</summary>
    Remove,
}

/// <summary>The outcome of re-deriving one connection.</summary>
public readonly struct RevalidationDecision
{
    /// <summary>Keep, update or remove.</summary>
    public RevalidationVerdict Verdict { get; init; }

    /// <summary>For <see cref="RevalidationVerdict.Update"/>: the original direction's action.</summary>
    public FlowAction Original { get; init; }

    /// <summary>For <see cref="RevalidationVerdict.Update"/>: the reply direction's action.</summary>
    public FlowAction Reply { get; init; }

    /// <summary>For <see cref="RevalidationVerdict.Remove"/>: why.</summary>
    public DropReason Reason { get; init; }

    /// <summary>What the new decision was derived from.</summary>
    public object? Provenance { get; init; }

    /// <summary>Nothing changes.</summary>
    public static RevalidationDecision Keep => default;

    /// <summary>The connection is now denied.</summary>
    public static RevalidationDecision Remove(DropReason reason) => new() { Verdict = RevalidationVerdict.Remove, Reason = reason };

    /// <summary>New actions.</summary>
    public static RevalidationDecision Update(in FlowAction original, in FlowAction reply, object? provenance = null) =>
        new() { Verdict = RevalidationVerdict.Update, Original = original, Reply = reply, Provenance = provenance };
}

/// <summary>
/// Re-derives tracked connections after a policy change (claim S4). Implemented by slow paths that
/// can decide a connection from its tuples alone; the connection's NAT bindings and load-balancer
/// choice are in its reply tuple, so they survive a change that does not affect them.
/// </summary>
public interface IConnectionRevalidator
{
    /// <summary>
    /// Re-derives one connection. Called on the datapath's thread; must not block. A connection whose tuples
    /// the new policy would change (its backend or SNAT binding is gone) must be removed, not updated.
    /// </summary>
    RevalidationDecision Revalidate(in ConnectionInfo connection, in FlowAction original, in FlowAction reply, object? provenance);
}

/// <summary>Totals of one revalidation pass.</summary>
/// <param name="Checked">Connections re-derived.</param>
/// <param name="Updated">Connections whose flows got new actions.</param>
/// <param name="Removed">Connections removed because the new policy denies them.</param>
/// <param name="DropFlowsRemoved">Cached drop flows removed (they are re-decided by their next packet).</param>
/// <param name="Elapsed">Time from start to completion on the datapath's <see cref="TimeProvider"/> (zero under a stopped test clock).</param>
public sealed record RevalidationResult(int Checked, int Updated, int Removed, int DropFlowsRemoved, TimeSpan Elapsed);
