namespace Offload.Policy.Git;

/// <summary>
/// The policy repository could not be used: not a repository, a clone or fetch failed, a ref that names no
/// commit. (A commit whose policy is bad is not an exception: see <see cref="GitPolicyRevision.Errors"/>.)
/// </summary>
public sealed class GitPolicyException : Exception
{
    /// <summary>Creates the exception.</summary>
    public GitPolicyException() { }

    /// <summary>Creates the exception with a message for the operator.</summary>
    public GitPolicyException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the git error behind it.</summary>
    public GitPolicyException(string message, Exception innerException) : base(message, innerException) { }
}
