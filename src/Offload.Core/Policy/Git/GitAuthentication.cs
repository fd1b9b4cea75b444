using LibGit2Sharp;
using LibGit2Sharp.Handlers;

namespace Offload.Policy.Git;

// Answers libgit2's credential requests for one clone or fetch, and turns its failure into a message that says
// what went wrong with authentication. libgit2 asks again after every 401, so a second request means the server
// refused what the first one sent.
internal sealed class GitAuthentication(GitCredentials? credentials)
{
    private int _requests;

    public CredentialsHandler Provide => Answer;

    private Credentials Answer(string url, string usernameFromUrl, SupportedCredentialTypes types)
    {
        int request = Interlocked.Increment(ref _requests);
        if (credentials is null || request > 1 || !types.HasFlag(SupportedCredentialTypes.UsernamePassword))
        {
            // Nothing (more) to offer: libgit2 then fails with the server's refusal, which Failure explains.
            throw new GitAuthenticationRefusedException();
        }
        return new UsernamePasswordCredentials { Username = credentials.Username, Password = credentials.Password };
    }

    public GitPolicyException Failure(string repository, string operation, LibGit2SharpException ex)
    {
        int requests = Volatile.Read(ref _requests);
        if (credentials is null && requests > 0)
        {
            return new GitPolicyException($"{repository}: {operation} failed: the server requires authentication (HTTP 401) and no credentials " +
                $"were given: set {GitCredentials.UsernameVariable} and {GitCredentials.PasswordVariable}, or name a credentials file " +
                $"(--git-credentials, or {GitCredentials.FileVariable})", ex);
        }
        if (credentials is not null && requests > 1)
        {
            return new GitPolicyException($"{repository}: {operation} failed: authentication failed: the server refused {credentials} (HTTP 401); " +
                "check the username and password or token", ex);
        }
        return new GitPolicyException($"{repository}: {operation} failed: {GitUrl.Redact(ex.Message)}", ex);
    }

    // Thrown from the callback to stop libgit2 asking (LibGit2Sharp turns it into the operation's error); Failure
    // replaces that error with what it means.
    private sealed class GitAuthenticationRefusedException() : Exception("no (further) credentials to offer");
}
