namespace Offload.Policy.Git;

/// <summary>What one check (or rollback) of the policy repository did.</summary>
public enum GitPolicyCheckStatus : byte
{
    /// <summary>The followed ref still names the commit last seen (applied, rejected or rolled back from): nothing to do.</summary>
    Unchanged,
    /// <summary>A commit was put in force (see <see cref="GitPolicyCheckResult.Applied"/>).</summary>
    Applied,
    /// <summary>The commit's policy is invalid (see <see cref="GitPolicyCheckResult.Rejected"/>); the last good commit stays in force.</summary>
    Rejected,
    /// <summary>The repository could not be read or the target failed (see <see cref="GitPolicyCheckResult.Failure"/>); nothing changed, the next check retries.</summary>
    Failed,
}

/// <summary>The result of <see cref="GitPolicyTracker.CheckNowAsync"/> or <see cref="GitPolicyTracker.RollbackAsync"/>.</summary>
/// <param name="Status">What happened.</param>
/// <param name="Applied">The history entry of the commit put in force, for <see cref="GitPolicyCheckStatus.Applied"/>.</param>
/// <param name="Rejected">The rejected commit with its errors, for <see cref="GitPolicyCheckStatus.Rejected"/>.</param>
/// <param name="Failure">What went wrong, for <see cref="GitPolicyCheckStatus.Failed"/>.</param>
public sealed record GitPolicyCheckResult(GitPolicyCheckStatus Status, GitPolicyHistoryEntry? Applied = null,
    GitPolicyRevision? Rejected = null, string? Failure = null)
{
    /// <summary>Nothing to do.</summary>
    public static GitPolicyCheckResult Unchanged { get; } = new(GitPolicyCheckStatus.Unchanged);

    /// <summary>One line for a log.</summary>
    public override string ToString() => Status switch
    {
        GitPolicyCheckStatus.Applied => $"applied {Applied}",
        GitPolicyCheckStatus.Rejected => $"rejected {Rejected}",
        GitPolicyCheckStatus.Failed => $"failed: {Failure}",
        _ => "unchanged",
    };
}
