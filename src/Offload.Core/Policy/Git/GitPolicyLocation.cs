namespace Offload.Policy.Git;

/// <summary>
/// A policy repository and optional ref as written on a command line: <c>/srv/policy</c>,
/// <c>/srv/policy@v12</c>, <c>https://git.example/policy.git@main</c>, <c>file:///srv/policy@4f2a9c1</c>.
/// </summary>
/// <param name="Repository">A local repository path or a clone URL.</param>
/// <param name="Ref">A branch, tag or commit; <c>null</c> for the repository's HEAD.</param>
public readonly record struct GitPolicyLocation(string Repository, string? Ref)
{
    /// <summary>Splits <paramref name="text"/> at its ref separator ('@'); throws <see cref="FormatException"/> when malformed.</summary>
    public static GitPolicyLocation Parse(string text) =>
        TryParse(text, out var location, out string? error) ? location : throw new FormatException(error);

    /// <summary>Splits <paramref name="text"/> at its ref separator; false with a message for the user when malformed.</summary>
    public static bool TryParse(string? text, out GitPolicyLocation location, out string? error)
    {
        location = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "the policy repository is empty";
            return false;
        }
        text = text.Trim();
        int at = text.LastIndexOf('@');
        if (at < 0 || IsUserInfo(text, at))
        {
            location = new GitPolicyLocation(text, null);
            error = null;
            return true;
        }
        string repository = text[..at];
        string reference = text[(at + 1)..];
        if (repository.Length == 0 || reference.Length == 0)
        {
            error = $"'{text}': expected <repository>[@<ref>] with a non-empty repository and ref";
            return false;
        }
        location = new GitPolicyLocation(repository, reference);
        error = null;
        return true;
    }

    // The '@' of "git@host:org/repo" or "ssh://git@host/repo" names a user, not a ref.
    private static bool IsUserInfo(string text, int at)
    {
        string after = text[(at + 1)..];
        if (after.Contains(':', StringComparison.Ordinal))
            return true;
        int scheme = text.IndexOf("://", StringComparison.Ordinal);
        return scheme >= 0 && scheme < at && text.IndexOf('/', scheme + 3) is var slash && (slash < 0 || slash > at);
    }

    /// <summary>"repository@ref", or the repository alone; a password written into the URL is masked.</summary>
    public override string ToString() => Ref is null ? MaskPassword(Repository) : $"{MaskPassword(Repository)}@{Ref}";

    /// <summary><paramref name="repository"/> with a password written into its URL (<c>https://user:secret@host/…</c>)
    /// replaced by <c>***</c>, for messages and logs; anything else unchanged.</summary>
    public static string MaskPassword(string repository)
    {
        ArgumentNullException.ThrowIfNull(repository);
        return GitUrl.Redact(repository);
    }
}
