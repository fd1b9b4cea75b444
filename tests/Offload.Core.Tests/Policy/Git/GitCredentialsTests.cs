using Offload.Policy.Git;

namespace Offload.Tests.Policy.Git;

public sealed class GitCredentialsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("offload-git-creds-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Func<string, string?> Environment(params (string Name, string Value)[] variables) =>
        name => variables.FirstOrDefault(v => v.Name == name).Value;

    private string File(string content, UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite)
    {
        string path = Path.Combine(_dir, "git-credentials");
        System.IO.File.WriteAllText(path, content);
        if (!OperatingSystem.IsWindows())
            System.IO.File.SetUnixFileMode(path, mode);
        return path;
    }

    [Fact]
    public void Resolve_BothVariablesSet_TakesThemBeforeTheFile()
    {
        string file = File("https://fromfile:pw@git.example\n");

        var credentials = GitCredentials.Resolve("https://git.example/policy.git", file,
            Environment(("OFFLOAD_GIT_USERNAME", "ci"), ("OFFLOAD_GIT_PASSWORD", "tok")));

        credentials!.Username.Should().Be("ci");
        credentials.Password.Should().Be("tok");
        credentials.ToString().Should().Be("user 'ci' from the environment (OFFLOAD_GIT_USERNAME, OFFLOAD_GIT_PASSWORD)");
    }

    [Fact]
    public void FromEnvironment_OnlyThePassword_ErrorNamesTheMissingVariable()
    {
        var act = () => GitCredentials.FromEnvironment(Environment(("OFFLOAD_GIT_PASSWORD", "tok")));

        act.Should().Throw<GitPolicyException>().WithMessage("OFFLOAD_GIT_PASSWORD is set but OFFLOAD_GIT_USERNAME is not*");
    }

    [Fact]
    public void Resolve_NothingSet_Null()
    {
        GitCredentials.Resolve("https://git.example/policy.git", null, Environment()).Should().BeNull();
    }

    [Fact]
    public void Resolve_FileFromVariable_MatchesSchemeHostPortAndPathPrefix()
    {
        string file = File("""
            # comment
            https://a:1@git.example/other
            https://b:2@git.example:8443
            https://c:p%40ss%3Aword@git.example/team
            https://d:4@git.example
            """);
        var env = Environment(("OFFLOAD_GIT_CREDENTIALS", file));

        GitCredentials.Resolve("https://git.example/team/policy.git", null, env)!.Password.Should().Be("p@ss:word", "percent-encoding is undone");
        GitCredentials.Resolve("https://git.example/team/policy.git", null, env)!.Source.Should().EndWith("line 4");
        GitCredentials.Resolve("https://git.example/teamwork/policy.git", null, env)!.Username.Should().Be("d", "a path matches whole segments");
        GitCredentials.Resolve("https://git.example:8443/x", null, env)!.Username.Should().Be("b");
        GitCredentials.Resolve("http://git.example/team/policy.git", null, env).Should().BeNull("the scheme differs");
        GitCredentials.Resolve("ssh://git@git.example/team/policy.git", null, env).Should().BeNull("the file holds https credentials");
    }

    [Fact]
    public void Resolve_FileOthersMayRead_RefusedWithTheMode()
    {
        if (OperatingSystem.IsWindows())
            return;
        string file = File("https://a:secret@git.example\n", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        var act = () => GitCredentials.Resolve("https://git.example/p.git", file, Environment());

        act.Should().Throw<GitPolicyException>().WithMessage($"git credentials file {file} may be read or written by other users (mode 644): chmod 600 it");
    }

    [Fact]
    public void Resolve_MalformedLine_ErrorNamesTheLineNotItsSecret()
    {
        string file = File("https://a:ok@git.example/x\nnot a url with hunter2\n");

        var act = () => GitCredentials.Resolve("https://git.example/p.git", file, Environment());

        var message = act.Should().Throw<GitPolicyException>().Which.Message;
        message.Should().Be($"git credentials file {file}, line 2: expected https://user:password@host[/path]");
        message.Should().NotContain("hunter2");
    }

    [Fact]
    public void Resolve_MissingFile_ErrorNamesIt()
    {
        string file = Path.Combine(_dir, "absent");

        var act = () => GitCredentials.Resolve("https://git.example/p.git", file, Environment());

        act.Should().Throw<GitPolicyException>().WithMessage($"git credentials file {file} does not exist");
    }

    [Fact]
    public void Open_UrlWithPasswordThatCannotBeCloned_MessageMasksThePassword()
    {
        var act = () => GitPolicySource.Open(new GitPolicySourceOptions
        {
            Repository = "http://agent:hunter2@127.0.0.1:9/policy.git", CacheDirectory = Path.Combine(_dir, "cache"),
        });

        var message = act.Should().Throw<GitPolicyException>().Which.Message;
        message.Should().StartWith("http://agent:***@127.0.0.1:9/policy.git: clone failed: ");
        message.Should().NotContain("hunter2");
    }

    [Fact]
    public void Open_LocalRepositoryWithCredentials_Refused()
    {
        using var repo = new TempGitRepository();

        var act = () => GitPolicySource.Open(new GitPolicySourceOptions { Repository = repo.Path, Credentials = new GitCredentials("a", "b", "test") });

        act.Should().Throw<ArgumentException>().WithMessage("*is a local repository: credentials are for https URLs*");
    }
}
