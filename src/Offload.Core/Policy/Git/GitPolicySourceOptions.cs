namespace Offload.Policy.Git;

/// <summary>Options of <see cref="GitPolicySource"/>.</summary>
public sealed class GitPolicySourceOptions
{
    /// <summary>A local repository (working tree or bare) or a URL to clone (<c>https://</c>, <c>ssh://</c>, <c>file://</c>).</summary>
    public string Repository { get; set; } = "";

    /// <summary>The branch, tag or commit followed; HEAD by default.</summary>
    public string Ref { get; set; } = "HEAD";

    /// <summary>The policy file's path inside the repository, with '/' separators.</summary>
    public string PolicyPath { get; set; } = "policy.yaml";

    /// <summary>
    /// Where clones of URLs are kept (one folder per URL), reused and fetched on the next start. Default: an
    /// <c>offload/policy-repos</c> folder under the user's local application data, or the temp folder.
    /// </summary>
    public string? CacheDirectory { get; set; }

    /// <summary>
    /// Username and password (or token) for an https repository that asks for them (see
    /// <see cref="GitCredentials.Resolve"/>); null to send none. Not used for ssh: an ssh URL is fetched by the
    /// OpenSSH client, which authenticates with its own agent, keys and <c>~/.ssh/config</c>.
    /// </summary>
    public GitCredentials? Credentials { get; set; }

    /// <summary>The largest policy file read; a larger one is rejected as an error of that commit.</summary>
    public long MaxPolicyBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>Options for <paramref name="location"/> (see <see cref="GitPolicyLocation"/>), other settings at their defaults.</summary>
    public static GitPolicySourceOptions For(GitPolicyLocation location) =>
        new() { Repository = location.Repository, Ref = location.Ref ?? "HEAD" };

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Repository))
            throw new ArgumentException("Repository must name a local repository or a URL.", nameof(Repository));
        if (string.IsNullOrWhiteSpace(Ref))
            throw new ArgumentException("Ref must name a branch, tag or commit.", nameof(Ref));
        if (string.IsNullOrWhiteSpace(PolicyPath) || PolicyPath.StartsWith('/') || PolicyPath.Contains('\\', StringComparison.Ordinal))
            throw new ArgumentException("PolicyPath must be a relative path inside the repository with '/' separators.", nameof(PolicyPath));
        if (MaxPolicyBytes <= 0)
            throw new ArgumentException("MaxPolicyBytes must be positive.", nameof(MaxPolicyBytes));
    }
}
