namespace Offload.Policy.Git;

/// <summary>
/// A username and password (or access token) for a policy repository served over https (git's smart HTTP with Basic
/// authentication). Taken from the environment (<see cref="UsernameVariable"/> and <see cref="PasswordVariable"/>) or
/// from a credentials file in git's credential-store format (one <c>https://user:password@host[/path]</c> per line,
/// percent-encoded, as <c>git credential-store</c> writes <c>~/.git-credentials</c>). The password is never part of
/// <see cref="ToString"/> or of any message.
/// </summary>
public sealed class GitCredentials
{
    /// <summary>Environment variable holding the username.</summary>
    public const string UsernameVariable = "OFFLOAD_GIT_USERNAME";

    /// <summary>Environment variable holding the password or access token.</summary>
    public const string PasswordVariable = "OFFLOAD_GIT_PASSWORD";

    /// <summary>Environment variable naming a credentials file, used when the command line names none.</summary>
    public const string FileVariable = "OFFLOAD_GIT_CREDENTIALS";

    /// <summary>Creates credentials.</summary>
    /// <param name="username">The username (for a token, whatever the server expects, e.g. <c>x-access-token</c> or <c>oauth2</c>).</param>
    /// <param name="password">The password or token.</param>
    /// <param name="source">Where they came from, for messages (never the secret itself).</param>
    public GitCredentials(string username, string password, string source)
    {
        ArgumentException.ThrowIfNullOrEmpty(username);
        ArgumentNullException.ThrowIfNull(password);
        ArgumentException.ThrowIfNullOrEmpty(source);
        Username = username;
        Password = password;
        Source = source;
    }

    /// <summary>The username.</summary>
    public string Username { get; }

    /// <summary>The password or token.</summary>
    public string Password { get; }

    /// <summary>Where the credentials came from ("environment", "file /etc/offload/git-credentials").</summary>
    public string Source { get; }

    /// <summary>The username and the source; never the password.</summary>
    public override string ToString() => $"user '{Username}' from {Source}";

    /// <summary>
    /// The credentials for <paramref name="url"/>: from the environment when <see cref="UsernameVariable"/> and
    /// <see cref="PasswordVariable"/> are set, else from <paramref name="file"/> (else the file named by
    /// <see cref="FileVariable"/>); null when none applies. Throws <see cref="GitPolicyException"/> when only one of
    /// the two variables is set or the file cannot be used.
    /// </summary>
    /// <param name="url">The repository URL.</param>
    /// <param name="file">A credentials file, or null.</param>
    /// <param name="environment">Reads an environment variable (default: the process environment).</param>
    public static GitCredentials? Resolve(string url, string? file = null, Func<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(url);
        environment ??= Environment.GetEnvironmentVariable;
        if (FromEnvironment(environment) is { } fromEnvironment)
            return fromEnvironment;
        file ??= environment(FileVariable) is { Length: > 0 } named ? named : null;
        return file is null ? null : GitCredentialsFile.Find(file, url);
    }

    /// <summary>
    /// The credentials in <see cref="UsernameVariable"/> and <see cref="PasswordVariable"/>; null when neither is set;
    /// throws <see cref="GitPolicyException"/> when only one is.
    /// </summary>
    public static GitCredentials? FromEnvironment(Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        string? user = environment(UsernameVariable);
        string? password = environment(PasswordVariable);
        if (string.IsNullOrEmpty(user) && string.IsNullOrEmpty(password))
            return null;
        if (string.IsNullOrEmpty(user))
            throw new GitPolicyException($"{PasswordVariable} is set but {UsernameVariable} is not: set both (for a token, the username the server expects)");
        if (string.IsNullOrEmpty(password))
            throw new GitPolicyException($"{UsernameVariable} is set but {PasswordVariable} is not: set both");
        return new GitCredentials(user, password, $"the environment ({UsernameVariable}, {PasswordVariable})");
    }
}
