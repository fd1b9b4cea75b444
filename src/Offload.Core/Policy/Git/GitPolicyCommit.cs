namespace Offload.Policy.Git;

/// <summary>A commit of the policy repository.</summary>
/// <param name="Sha">The full commit id (40 lower-case hex digits).</param>
/// <param name="AuthorTime">When the author made it, with the author's offset.</param>
/// <param name="Author">The author's name.</param>
/// <param name="Message">The whole commit message.</param>
public sealed record GitPolicyCommit(string Sha, DateTimeOffset AuthorTime, string Author, string Message)
{
    /// <summary>The first 7 digits of <see cref="Sha"/>.</summary>
    public string ShortSha => Sha.Length > 7 ? Sha[..7] : Sha;

    /// <summary>The message's first line.</summary>
    public string Summary
    {
        get
        {
            int end = Message.IndexOf('\n', StringComparison.Ordinal);
            return (end < 0 ? Message : Message[..end]).TrimEnd('\r');
        }
    }

    /// <summary>"4f2a9c1 summary".</summary>
    public override string ToString() => $"{ShortSha} {Summary}";
}
