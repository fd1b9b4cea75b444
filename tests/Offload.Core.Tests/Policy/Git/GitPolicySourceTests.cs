using Offload.Policy.Git;
using Offload.Tests.Switching;

namespace Offload.Tests.Policy.Git;

public sealed class GitPolicySourceTests : IDisposable
{
    internal const string Vm2Mac = "02:00:00:01:00:02";
    internal static readonly string Good = SwitchTestBed.PolicyYaml;
    internal static readonly string GoodMoved = SwitchTestBed.PolicyYaml.Replace(Vm2Mac, "02:00:00:01:00:22");
    // The first backend's address is not an IP address.
    internal static readonly string BadBackend = SwitchTestBed.PolicyYaml.Replace("backends: [ { ip: 10.1.0.2", "backends: [ { ip: 10.1.0.256");

    private readonly TempGitRepository _repo = new();
    private readonly string _cache = Directory.CreateTempSubdirectory("offload-git-cache-").FullName;

    public void Dispose()
    {
        _repo.Dispose();
        TempGitRepository.DeleteTree(_cache);
    }

    private GitPolicySource Open(string? reference = null, string? policyPath = null) =>
        GitPolicySource.Open(new GitPolicySourceOptions
        {
            Repository = _repo.Path, Ref = reference ?? "HEAD", PolicyPath = policyPath ?? "policy.yaml", CacheDirectory = _cache,
        });

    [Fact]
    public void Read_DefaultRef_ReadsHeadCommitWithItsMetadata()
    {
        _repo.CommitPolicy("first policy", Good);
        var second = _repo.CommitPolicy("move vm2\n\nnew NIC after maintenance", GoodMoved);
        using var source = Open();

        var revision = source.Read();

        revision.Success.Should().BeTrue();
        revision.Commit.Sha.Should().Be(second.Sha);
        revision.Commit.AuthorTime.Should().Be(second.Author.When);
        revision.Commit.Author.Should().Be("Policy Author");
        revision.Commit.Summary.Should().Be("move vm2");
        revision.Commit.Message.Should().Contain("new NIC after maintenance");
        revision.Snapshot!.Ports.Single(p => p.Name == "vm2").Mac.ToString().Should().Be("02:00:00:01:00:22");
        source.IsClone.Should().BeFalse();
    }

    [Fact]
    public void Read_TagBranchShaAndShortSha_ReadThatCommitsPolicy()
    {
        var first = _repo.CommitPolicy("first", Good);
        _repo.Tag("v1", first);
        _repo.AnnotatedTag("release-1", first);
        _repo.Repo.Branches.Add("stable", first);
        _repo.CommitPolicy("second", GoodMoved);
        using var source = Open();

        foreach (var reference in new[] { "v1", "release-1", "stable", first.Sha, first.Sha[..7], "HEAD~1" })
        {
            var revision = source.Read(reference);
            revision.Commit.Sha.Should().Be(first.Sha, "'{0}' names the first commit", reference);
            revision.Snapshot!.Ports.Single(p => p.Name == "vm2").Mac.ToString().Should().Be(Vm2Mac);
        }
    }

    [Fact]
    public void Open_RefOption_IsTheDefaultForReadAndResolve()
    {
        var first = _repo.CommitPolicy("first", Good);
        _repo.Tag("v1", first);
        _repo.CommitPolicy("second", GoodMoved);
        using var source = Open(reference: "v1");

        source.Resolve().Sha.Should().Be(first.Sha);
        source.Read().Commit.Sha.Should().Be(first.Sha);
    }

    [Fact]
    public void Read_InvalidPolicy_ReportsPathAndLineAndNoSnapshot()
    {
        var bad = _repo.CommitPolicy("typo", BadBackend);
        using var source = Open();

        var revision = source.Read();

        revision.Success.Should().BeFalse();
        revision.Snapshot.Should().BeNull();
        revision.Commit.Sha.Should().Be(bad.Sha);
        revision.Errors.Should().ContainSingle(e => e.Path == "loadBalancers[0].backends[0].ip");
        revision.Errors[0].Line.Should().BeGreaterThan(0);
        revision.DescribeErrors()[0].Should().StartWith($"policy.yaml@{bad.Sha[..7]}:{revision.Errors[0].Line}:")
            .And.Contain("loadBalancers[0].backends[0].ip: ");
    }

    [Fact]
    public void Read_FileMissingAtCommit_ReportsError()
    {
        _repo.Commit("no policy yet", ("README.md", "policy goes here"));
        using var source = Open();

        var revision = source.Read();

        revision.Success.Should().BeFalse();
        revision.Errors.Should().ContainSingle().Which.Message.Should().Contain("policy.yaml does not exist");
    }

    [Fact]
    public void Read_PolicyPathIsAFolder_ReportsError()
    {
        _repo.Commit("nested", ("policy.yaml/inner.yaml", Good));
        using var source = Open();

        source.Read().Errors.Should().ContainSingle().Which.Message.Should().Contain("not a file");
    }

    [Fact]
    public void Read_CustomPolicyPath_ReadsThatFile()
    {
        _repo.Commit("two files", ("hosts/host-a/policy.yaml", Good), ("policy.yaml", BadBackend));
        using var source = Open(policyPath: "hosts/host-a/policy.yaml");

        var revision = source.Read();

        revision.Success.Should().BeTrue();
        revision.PolicyPath.Should().Be("hosts/host-a/policy.yaml");
    }

    [Fact]
    public void Resolve_UnknownRef_ThrowsAndTryResolveIsFalse()
    {
        _repo.CommitPolicy("first", Good);
        using var source = Open();

        source.TryResolve("no-such-branch", out var commit).Should().BeFalse();
        commit.Should().BeNull();
        var read = () => source.Read("no-such-branch");
        read.Should().Throw<GitPolicyException>().WithMessage("*'no-such-branch' names no commit*");
    }

    [Fact]
    public void Resolve_TreeId_NamesNoCommit()
    {
        var first = _repo.CommitPolicy("first", Good);
        using var source = Open();

        source.TryResolve(first.Tree.Sha, out _).Should().BeFalse();
    }

    [Fact]
    public void Open_FolderThatIsNoRepository_Throws()
    {
        var open = () => GitPolicySource.Open(new GitPolicySourceOptions { Repository = _cache });
        open.Should().Throw<GitPolicyException>().WithMessage("*not a git repository*");
    }

    [Fact]
    public void Open_NeitherPathNorUrl_Throws()
    {
        var open = () => GitPolicySource.Open(new GitPolicySourceOptions { Repository = System.IO.Path.Combine(_cache, "missing") });
        open.Should().Throw<GitPolicyException>().WithMessage("*no such repository*");
    }

    [Fact]
    public void Open_FileUrl_ClonesIntoCacheAndFetchSeesNewCommitsAndTags()
    {
        var first = _repo.CommitPolicy("first", Good);
        using var source = GitPolicySource.Open(new GitPolicySourceOptions { Repository = _repo.FileUrl, CacheDirectory = _cache });

        source.IsClone.Should().BeTrue();
        source.LocalPath.Should().StartWith(_cache);
        source.Read().Commit.Sha.Should().Be(first.Sha);

        var second = _repo.CommitPolicy("second", GoodMoved);
        _repo.Tag("v2", second);
        source.Read().Commit.Sha.Should().Be(first.Sha, "a clone changes only when fetched");
        source.Fetch();

        source.Read().Commit.Sha.Should().Be(second.Sha);
        source.Resolve("v2").Sha.Should().Be(second.Sha);
        source.Read().Snapshot!.Ports.Single(p => p.Name == "vm2").Mac.ToString().Should().Be("02:00:00:01:00:22");
    }

    [Fact]
    public void Open_FileUrlAgain_ReusesTheCloneAndFetches()
    {
        _repo.CommitPolicy("first", Good);
        var options = GitPolicySourceOptions.For(GitPolicyLocation.Parse(_repo.FileUrl + "@HEAD"));
        options.CacheDirectory = _cache;
        string path;
        using (var once = GitPolicySource.Open(options))
            path = once.LocalPath;
        var second = _repo.CommitPolicy("second", GoodMoved);

        using var again = GitPolicySource.Open(options);

        again.LocalPath.Should().Be(path);
        again.Read().Commit.Sha.Should().Be(second.Sha, "opening an existing clone fetches it");
    }

    [Fact]
    public void Open_UrlThatCannotBeCloned_Throws()
    {
        var open = () => GitPolicySource.Open(new GitPolicySourceOptions
        {
            Repository = new Uri(System.IO.Path.Combine(_cache, "nothing-here")).AbsoluteUri, CacheDirectory = _cache,
        });
        open.Should().Throw<GitPolicyException>().WithMessage("*clone failed*");
    }

    [Fact]
    public void Log_PolicyChangesOnly_SkipsCommitsThatDoNotTouchThePolicy()
    {
        var a = _repo.CommitPolicy("a", Good);
        _repo.Commit("docs", ("README.md", "hello"));
        var c = _repo.CommitPolicy("c", GoodMoved);
        using var source = Open();

        source.Log().Select(x => x.Summary).Should().Equal("c", "docs", "a");
        source.Log(policyChangesOnly: true).Select(x => x.Sha).Should().Equal(c.Sha, a.Sha);
        source.Log(max: 1).Should().ContainSingle();
    }

    [Fact]
    public void Open_FolderInsideARepository_IsNotTheRepository()
    {
        _repo.Commit("nested", ("hosts/host-a/policy.yaml", Good));
        var open = () => GitPolicySource.Open(new GitPolicySourceOptions { Repository = System.IO.Path.Combine(_repo.Path, "hosts") });
        open.Should().Throw<GitPolicyException>().WithMessage("*not a git repository*");
    }

    [Fact]
    public void Read_OversizedFile_ReportsErrorWithoutLoading()
    {
        _repo.CommitPolicy("big", Good);
        using var source = GitPolicySource.Open(new GitPolicySourceOptions { Repository = _repo.Path, MaxPolicyBytes = 100 });

        source.Read().Errors.Should().ContainSingle().Which.Message.Should().Contain("more than the 100 allowed");
    }

    [Fact]
    public void Read_NotUtf8_ReportsError()
    {
        File.WriteAllBytes(System.IO.Path.Combine(_repo.Path, "policy.yaml"), [0x68, 0x6f, 0x73, 0x74, 0x3a, 0x20, 0xff, 0xfe, 0x0a]);
        LibGit2Sharp.Commands.Stage(_repo.Repo, "policy.yaml");
        _repo.Commit("binary");
        using var source = Open();

        source.Read().Errors.Should().ContainSingle().Which.Message.Should().Contain("not UTF-8");
    }

    [Fact]
    public void Read_Utf8WithByteOrderMark_Loads()
    {
        _repo.CommitPolicy("bom", "\uFEFF" + Good);
        using var source = Open();

        source.Read().Success.Should().BeTrue();
    }
}
