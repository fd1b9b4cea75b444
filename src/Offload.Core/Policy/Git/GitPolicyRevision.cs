namespace Offload.Policy.Git;

/// <summary>The policy file of one commit, loaded and validated whole: a snapshot, or every error found.</summary>
/// <param name="Commit">The commit read.</param>
/// <param name="PolicyPath">The policy file's path in the repository.</param>
/// <param name="Snapshot">The valid policy; <c>null</c> when <paramref name="Errors"/> is not empty.</param>
/// <param name="Errors">Every error (document paths such as <c>loadBalancers[1].backends[0].ip</c>, with lines).</param>
public sealed record GitPolicyRevision(GitPolicyCommit Commit, string PolicyPath, PolicySnapshot? Snapshot, IReadOnlyList<PolicyError> Errors)
{
    /// <summary>True when the commit's policy loaded and validated clean.</summary>
    public bool Success => Snapshot is not null;

    /// <summary>One line per error: <c>policy.yaml@4f2a9c1:12:7: loadBalancers[1].backends[0].ip: ...</c>.</summary>
    public IReadOnlyList<string> DescribeErrors()
    {
        var lines = new List<string>(Errors.Count);
        foreach (var e in Errors)
        {
            string where = e.Line > 0 ? $"{PolicyPath}@{Commit.ShortSha}:{e.Line}:{e.Column}" : $"{PolicyPath}@{Commit.ShortSha}";
            lines.Add($"{where}: {e}");
        }
        return lines;
    }

    /// <summary>"4f2a9c1 summary: valid", or the first error.</summary>
    public override string ToString() =>
        Success ? $"{Commit}: valid" : $"{Commit}: {Errors.Count} error(s), first {DescribeErrors()[0]}";
}
