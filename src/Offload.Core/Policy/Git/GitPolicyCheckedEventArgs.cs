namespace Offload.Policy.Git;

/// <summary>One check or rollback of a <see cref="GitPolicyTracker"/>.</summary>
/// <param name="result">What it did.</param>
public sealed class GitPolicyCheckedEventArgs(GitPolicyCheckResult result) : EventArgs
{
    /// <summary>What it did.</summary>
    public GitPolicyCheckResult Result { get; } = result;
}
