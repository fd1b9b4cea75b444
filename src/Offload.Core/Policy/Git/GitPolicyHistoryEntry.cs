using Offload.Datapath;

namespace Offload.Policy.Git;

/// <summary>Why a commit was put in force.</summary>
public enum GitPolicyApplyKind : byte
{
    /// <summary>The first commit the tracker put in force.</summary>
    Initial,
    /// <summary>A new commit on the followed ref.</summary>
    Update,
    /// <summary>An earlier commit asked for by <see cref="GitPolicyTracker.RollbackAsync"/>.</summary>
    Rollback,
}

/// <summary>One commit put in force, and what that did to the live flows.</summary>
/// <param name="Commit">The commit.</param>
/// <param name="AppliedAt">When it was put in force (the tracker's <see cref="TimeProvider"/>).</param>
/// <param name="Kind">Initial, update or rollback.</param>
/// <param name="PolicyChanged">False when the commit's policy equals the one already in force (nothing was revalidated).</param>
/// <param name="Digest">The policy's content digest (<see cref="PolicySnapshot.Digest"/>).</param>
/// <param name="Revalidation">What revalidation did, when the target has flows and the policy changed.</param>
public sealed record GitPolicyHistoryEntry(GitPolicyCommit Commit, DateTimeOffset AppliedAt, GitPolicyApplyKind Kind, bool PolicyChanged,
    string Digest, RevalidationResult? Revalidation)
{
    /// <summary>Connections whose flows got new actions (each has one flow per direction).</summary>
    public int ConnectionsUpdated => Revalidation?.Updated ?? 0;

    /// <summary>Connections removed with their flows because the policy denies them.</summary>
    public int ConnectionsRemoved => Revalidation?.Removed ?? 0;

    /// <summary>"2026-11-25T17:00:00Z update 4f2a9c1 summary: 3 updated, 1 removed".</summary>
    public override string ToString() =>
        $"{AppliedAt.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ} {Kind.ToString().ToLowerInvariant()} {Commit}: "
        + (PolicyChanged ? $"{ConnectionsUpdated} updated, {ConnectionsRemoved} removed" : "policy unchanged");
}
