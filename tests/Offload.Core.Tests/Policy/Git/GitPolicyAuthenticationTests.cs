using Offload.Policy.Git;

namespace Offload.Tests.Policy.Git;

/// <summary>Policy repositories behind a real git smart-HTTP server (git http-backend) that wants Basic authentication.</summary>
public sealed class GitPolicyAuthenticationTests : IDisposable
{
    private const string User = "agent";
    private const string Secret = "s3cret-token-7f1c";
    private readonly TempGitRepository _repo = new();
    private readonly string _cache = Directory.CreateTempSubdirectory("offload-git-cache-").FullName;

    public void Dispose()
    {
        _repo.Dispose();
        TempGitRepository.DeleteTree(_cache);
    }

    private GitHttpServer Serve() =>
        new(Path.GetDirectoryName(_repo.Path)!, User, Secret);

    private GitPolicySource Open(GitHttpServer server, GitCredentials? credentials) =>
        GitPolicySource.Open(new GitPolicySourceOptions
        {
            Repository = server.Url(Path.GetFileName(_repo.Path)), CacheDirectory = _cache, Credentials = credentials,
        });

    [Fact]
    public void Open_RightPassword_ClonesAndReadsThePolicyAndFetchSeesNewCommits()
    {
        if (!GitHttpServer.IsAvailable)
            return;
        var first = _repo.CommitPolicy("first policy", GitPolicySourceTests.Good);
        using var server = Serve();

        using var source = Open(server, new GitCredentials(User, Secret, "test"));
        var revision = source.Read();
        var second = _repo.CommitPolicy("move vm2", GitPolicySourceTests.GoodMoved);
        source.Fetch();

        revision.Success.Should().BeTrue();
        revision.Commit.Sha.Should().Be(first.Sha);
        source.Read().Commit.Sha.Should().Be(second.Sha, "the fetch authenticated too");
        server.Refused.Should().BeGreaterThan(0, "the server asked for the credentials before it served anything");
    }

    [Fact]
    public void Open_WrongPassword_PreciseErrorWithoutTheSecretAndNoCloneLeft()
    {
        if (!GitHttpServer.IsAvailable)
            return;
        _repo.CommitPolicy("first policy", GitPolicySourceTests.Good);
        using var server = Serve();
        string wrong = "wrong-" + Secret;

        var act = () => Open(server, new GitCredentials(User, wrong, "the environment (OFFLOAD_GIT_USERNAME, OFFLOAD_GIT_PASSWORD)"));

        var error = act.Should().Throw<GitPolicyException>().Which;
        error.Message.Should().Be($"{server.Url(Path.GetFileName(_repo.Path))}: clone failed: authentication failed: the server refused " +
            "user 'agent' from the environment (OFFLOAD_GIT_USERNAME, OFFLOAD_GIT_PASSWORD) (HTTP 401); check the username and password or token");
        error.Message.Should().NotContain(wrong);
        Directory.EnumerateDirectories(_cache).Should().BeEmpty("a failed clone leaves nothing behind");
    }

    [Fact]
    public void Open_NoCredentialsForAServerThatWantsThem_SaysHowToGiveThem()
    {
        if (!GitHttpServer.IsAvailable)
            return;
        _repo.CommitPolicy("first policy", GitPolicySourceTests.Good);
        using var server = Serve();

        var act = () => Open(server, null);

        act.Should().Throw<GitPolicyException>().WithMessage(
            "*clone failed: the server requires authentication (HTTP 401) and no credentials were given: set OFFLOAD_GIT_USERNAME and OFFLOAD_GIT_PASSWORD, or name a credentials file (--git-credentials, or OFFLOAD_GIT_CREDENTIALS)");
    }

    [Fact]
    public void Open_CredentialsFileEntryForTheServer_ClonesWithIt()
    {
        if (!GitHttpServer.IsAvailable || OperatingSystem.IsWindows())
            return;
        _repo.CommitPolicy("first policy", GitPolicySourceTests.Good);
        using var server = Serve();
        string file = Path.Combine(_cache, "..", Path.GetFileName(_cache) + ".credentials");
        File.WriteAllLines(file, [
            "# policy servers",
            $"http://someone:else@127.0.0.1:{server.Port}/other-repo",
            $"http://{User}:{Uri.EscapeDataString(Secret)}@127.0.0.1:{server.Port}",
        ]);
        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        try
        {
            var credentials = GitCredentials.Resolve(server.Url(Path.GetFileName(_repo.Path)), file, _ => null);

            credentials!.ToString().Should().Be($"user 'agent' from file {file}, line 3");
            using var source = Open(server, credentials);
            source.Read().Success.Should().BeTrue();
        }
        finally
        {
            File.Delete(file);
        }
    }
}
