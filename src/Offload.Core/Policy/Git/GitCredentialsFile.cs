namespace Offload.Policy.Git;

// git's credential-store format: one URL with user and password per line; the first line whose scheme and host
// (and port) match the repository's, and whose path, when it has one, is a prefix of the repository's path, wins.
// A file others may read is refused, as ssh refuses a private key others may read; errors name the line number,
// never its text (it holds a secret).
internal static class GitCredentialsFile
{
    private const long MaxBytes = 1 << 20;

    public static GitCredentials? Find(string path, string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var target) || (target.Scheme != Uri.UriSchemeHttps && target.Scheme != Uri.UriSchemeHttp))
            return null; // a file of https credentials says nothing about ssh or local repositories
        string[] lines;
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
                throw new GitPolicyException($"git credentials file {path} does not exist");
            if (!OperatingSystem.IsWindows() && (info.UnixFileMode & (UnixFileMode.GroupRead | UnixFileMode.OtherRead | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0)
                throw new GitPolicyException($"git credentials file {path} may be read or written by other users (mode {Convert.ToString((int)info.UnixFileMode, 8)}): chmod 600 it");
            if (info.Length > MaxBytes)
                throw new GitPolicyException($"git credentials file {path} is larger than {MaxBytes} bytes");
            lines = File.ReadAllLines(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new GitPolicyException($"git credentials file {path} cannot be read: {ex.Message}", ex);
        }
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].Trim();
            if (line.Length == 0 || line.StartsWith('#'))
                continue;
            if (!Uri.TryCreate(line, UriKind.Absolute, out var entry) || string.IsNullOrEmpty(entry.UserInfo) || !entry.UserInfo.Contains(':', StringComparison.Ordinal))
                throw new GitPolicyException($"git credentials file {path}, line {i + 1}: expected https://user:password@host[/path]");
            if (!Matches(entry, target))
                continue;
            int colon = entry.UserInfo.IndexOf(':', StringComparison.Ordinal);
            string user = Uri.UnescapeDataString(entry.UserInfo[..colon]);
            string password = Uri.UnescapeDataString(entry.UserInfo[(colon + 1)..]);
            if (user.Length == 0)
                throw new GitPolicyException($"git credentials file {path}, line {i + 1}: the username is empty");
            return new GitCredentials(user, password, $"file {path}, line {i + 1}");
        }
        return null;
    }

    private static bool Matches(Uri entry, Uri target)
    {
        if (!string.Equals(entry.Scheme, target.Scheme, StringComparison.OrdinalIgnoreCase)
            || !string.Equals(entry.Host, target.Host, StringComparison.OrdinalIgnoreCase) || entry.Port != target.Port)
            return false;
        string path = entry.AbsolutePath.TrimEnd('/');
        return path.Length == 0 || target.AbsolutePath.Equals(path, StringComparison.Ordinal)
            || target.AbsolutePath.StartsWith(path + "/", StringComparison.Ordinal);
    }
}
