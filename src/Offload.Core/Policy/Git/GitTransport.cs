using LibGit2Sharp;

namespace Offload.Policy.Git;

// Whether a URL can be fetched here at all, said before libgit2 fails in its own words. The libgit2 bundled with
// LibGit2Sharp 0.32 (1.8) reaches ssh URLs by running the OpenSSH client (its "exec" ssh backend, no libssh2): the
// ssh program must be on PATH (or GIT_SSH / GIT_SSH_COMMAND name one), and it authenticates on its own (agent, keys,
// ~/.ssh/config, known_hosts) — LibGit2Sharp's credential callbacks are never asked for ssh.
internal static class GitTransport
{
    public static void CheckUsable(string url)
    {
        if (!GitUrl.IsSsh(url))
            return;
        if (!GlobalSettings.Version.Features.HasFlag(BuiltInFeatures.Ssh))
        {
            throw new GitPolicyException($"{GitUrl.Redact(url)}: this build of libgit2 cannot fetch over ssh; use an https:// URL with " +
                $"{GitCredentials.UsernameVariable}/{GitCredentials.PasswordVariable} or a credentials file, or keep a local clone current with git and give its path");
        }
        if (Environment.GetEnvironmentVariable("GIT_SSH_COMMAND") is { Length: > 0 } || Environment.GetEnvironmentVariable("GIT_SSH") is { Length: > 0 })
            return;
        if (!OnPath("ssh"))
        {
            throw new GitPolicyException($"{GitUrl.Redact(url)}: ssh URLs are fetched by the OpenSSH client, and no 'ssh' program is on PATH: install " +
                "openssh-client (or set GIT_SSH_COMMAND), or use an https:// URL with credentials");
        }
    }

    private static bool OnPath(string program)
    {
        foreach (string folder in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            if (File.Exists(Path.Combine(folder, program)))
                return true;
        }
        return false;
    }
}
