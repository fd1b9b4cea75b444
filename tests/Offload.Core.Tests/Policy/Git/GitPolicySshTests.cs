using LibGit2Sharp;
using Offload.Policy.Git;

namespace Offload.Tests.Policy.Git;

/// <summary>
/// ssh URLs: the libgit2 bundled with LibGit2Sharp 0.32 runs the OpenSSH client for them. Instead of a real sshd, the
/// tests name a stand-in ssh program (GIT_SSH_COMMAND) that runs the git command libgit2 asks for on this machine, so
/// the whole ssh transport path — URL parsing, the spawned program, the pack protocol over its pipes — is exercised.
/// </summary>
[Collection(GitSshEnvironment.Name)]
public sealed class GitPolicySshTests : IDisposable
{
    private readonly TempGitRepository _repo = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("offload-git-ssh-").FullName;

    public void Dispose()
    {
        _repo.Dispose();
        TempGitRepository.DeleteTree(_dir);
    }

    [Fact]
    public void BundledLibgit2_HasSsh()
    {
        GlobalSettings.Version.Features.Should().HaveFlag(BuiltInFeatures.Ssh);
    }

    [Fact]
    public void Open_SshUrlThroughTheSshProgram_ClonesAndReadsThePolicy()
    {
        if (OperatingSystem.IsWindows() || !File.Exists("/bin/sh"))
            return;
        var commit = _repo.CommitPolicy("first policy", GitPolicySourceTests.Good);
        // ssh [options] host 'git-upload-pack '\''/path'\''' → run the quoted command here, as sshd would run it there.
        string fake = Path.Combine(_dir, "fake-ssh");
        File.WriteAllText(fake, "#!/bin/sh\nfor last; do :; done\necho \"$@\" >> \"$0.log\"\nexec sh -c \"$last\"\n");
        File.SetUnixFileMode(fake, (UnixFileMode)0x1C0); // 0700
        string? before = Environment.GetEnvironmentVariable("GIT_SSH_COMMAND");
        // libgit2 reads the native environment, which Environment.SetEnvironmentVariable does not change on Unix.
        NativeEnvironment.Set("GIT_SSH_COMMAND", fake);
        try
        {
            using var source = GitPolicySource.Open(new GitPolicySourceOptions
            {
                Repository = $"ssh://policy@git.example.test{_repo.Path}", CacheDirectory = Path.Combine(_dir, "cache"),
            });

            source.Read().Commit.Sha.Should().Be(commit.Sha);
            File.ReadAllText(fake + ".log").Should().Contain("git.example.test").And.Contain("git-upload-pack");
        }
        finally
        {
            NativeEnvironment.Set("GIT_SSH_COMMAND", before);
        }
    }

    [Fact]
    public void Open_SshUrlWithoutAnSshProgram_SaysWhatToInstallOrUse()
    {
        string? path = Environment.GetEnvironmentVariable("PATH");
        string? command = Environment.GetEnvironmentVariable("GIT_SSH_COMMAND");
        Environment.SetEnvironmentVariable("PATH", _dir);
        Environment.SetEnvironmentVariable("GIT_SSH_COMMAND", null);
        try
        {
            var act = () => GitPolicySource.Open(new GitPolicySourceOptions { Repository = "git@git.example.test:team/policy.git", CacheDirectory = _dir });

            act.Should().Throw<GitPolicyException>().WithMessage(
                "git@git.example.test:team/policy.git: ssh URLs are fetched by the OpenSSH client, and no 'ssh' program is on PATH: install openssh-client (or set GIT_SSH_COMMAND), or use an https:// URL with credentials");
        }
        finally
        {
            Environment.SetEnvironmentVariable("PATH", path);
            Environment.SetEnvironmentVariable("GIT_SSH_COMMAND", command);
        }
    }
}

/// <summary>setenv(3)/unsetenv(3): the environment native libraries see.</summary>
internal static partial class NativeEnvironment
{
    public static void Set(string name, string? value)
    {
        int result = value is null ? unsetenv(name) : setenv(name, value, 1);
        result.Should().Be(0);
    }

    [System.Runtime.InteropServices.LibraryImport("libc.so.6", StringMarshalling = System.Runtime.InteropServices.StringMarshalling.Utf8)]
    private static partial int setenv(string name, string value, int overwrite);

    [System.Runtime.InteropServices.LibraryImport("libc.so.6", StringMarshalling = System.Runtime.InteropServices.StringMarshalling.Utf8)]
    private static partial int unsetenv(string name);
}

/// <summary>Tests that change the process's PATH or GIT_SSH_COMMAND run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GitSshEnvironment
{
    public const string Name = "git ssh environment";
}
