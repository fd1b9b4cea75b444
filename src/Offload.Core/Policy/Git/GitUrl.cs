namespace Offload.Policy.Git;

// What kind of URL a policy repository is, and how to show it without a password written into it.
internal static class GitUrl
{
    public static bool IsSsh(string url) =>
        url.StartsWith("ssh://", StringComparison.OrdinalIgnoreCase) || url.StartsWith("ssh+git://", StringComparison.OrdinalIgnoreCase)
        || url.StartsWith("git+ssh://", StringComparison.OrdinalIgnoreCase) || IsScpLike(url);

    public static bool IsHttp(string url) =>
        url.StartsWith("https://", StringComparison.OrdinalIgnoreCase) || url.StartsWith("http://", StringComparison.OrdinalIgnoreCase);

    // user@host:path, git's shorthand for ssh (no scheme, a colon before any slash).
    private static bool IsScpLike(string url)
    {
        if (url.Contains("://", StringComparison.Ordinal))
            return false;
        int colon = url.IndexOf(':', StringComparison.Ordinal);
        int slash = url.IndexOf('/', StringComparison.Ordinal);
        return colon > 0 && (slash < 0 || colon < slash);
    }

    // https://user:secret@host/x → https://user:***@host/x; anything else unchanged.
    public static string Redact(string url)
    {
        int scheme = url.IndexOf("://", StringComparison.Ordinal);
        if (scheme < 0)
            return url;
        int start = scheme + 3;
        int end = url.IndexOfAny(['/', '?', '#'], start);
        if (end < 0)
            end = url.Length;
        int at = url.LastIndexOf('@', end - 1, end - start);
        if (at < 0)
            return url;
        int colon = url.IndexOf(':', start, at - start);
        return colon < 0 ? url : string.Concat(url.AsSpan(0, colon + 1), "***", url.AsSpan(at));
    }
}
