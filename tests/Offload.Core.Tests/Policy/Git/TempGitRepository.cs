using LibGit2Sharp;

namespace Offload.Tests.Policy.Git;

/// <summary>A real git repository in a temporary folder, deleted on dispose.</summary>
internal sealed class TempGitRepository : IDisposable
{
    private DateTimeOffset _clock = new(2026, 11, 1, 9, 0, 0, TimeSpan.FromHours(1));

    public TempGitRepository()
    {
        Path = Directory.CreateTempSubdirectory("offload-git-").FullName;
        Repository.Init(Path);
        Repo = new Repository(Path);
    }

    public string Path { get; }

    public Repository Repo { get; }

    public string FileUrl => new Uri(Path).AbsoluteUri;

    /// <summary>Writes the files, stages them, and commits; each commit is one hour after the previous. Returns the commit.</summary>
    public Commit Commit(string message, params (string File, string Content)[] files)
    {
        foreach (var (file, content) in files)
        {
            string full = System.IO.Path.Combine(Path, file);
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
            File.WriteAllText(full, content);
            Commands.Stage(Repo, file);
        }
        _clock = _clock.AddHours(1);
        var who = new Signature("Policy Author", "author@example.org", _clock);
        return Repo.Commit(message, who, who, new CommitOptions { AllowEmptyCommit = true });
    }

    public Commit CommitPolicy(string message, string yaml) => Commit(message, ("policy.yaml", yaml));

    public void Tag(string name, Commit commit) => Repo.Tags.Add(name, commit);

    public void AnnotatedTag(string name, Commit commit) =>
        Repo.Tags.Add(name, commit, new Signature("Tagger", "tagger@example.org", _clock), "release " + name);

    public void Dispose()
    {
        Repo.Dispose();
        DeleteTree(Path);
    }

    public static void DeleteTree(string path)
    {
        if (!Directory.Exists(path))
            return;
        // git writes its objects read-only.
        foreach (var file in Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories))
            File.SetAttributes(file, FileAttributes.Normal);
        Directory.Delete(path, recursive: true);
    }
}
