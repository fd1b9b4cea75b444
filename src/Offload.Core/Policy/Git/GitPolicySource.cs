using System.Security.Cryptography;
using System.Text;
using LibGit2Sharp;

namespace Offload.Policy.Git;

/// <summary>
/// Reads the policy from a git repository: a local repository used in place, or a URL cloned (bare) into a cache
/// folder and fetched on <see cref="Fetch"/>. A ref (branch, tag, commit id, or any git revision expression) is
/// resolved to a commit, the policy file is read at that commit, and the whole document is loaded and validated
/// by <see cref="PolicyLoader"/> — the working tree and index are never looked at.
/// </summary>
/// <remarks>Thread-safe: calls are serialised (a libgit2 repository handle is not safe for concurrent use).</remarks>
public sealed class GitPolicySource : IDisposable
{
    // A clone mirrors the remote's branches and tags, so a ref resolves the same way as in the original
    // repository and a fetch moves it.
    private static readonly string[] MirrorRefSpecs = ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"];

    private readonly Lock _gate = new();
    private readonly Repository _repository;
    private readonly GitPolicySourceOptions _options;
    private bool _disposed;

    private GitPolicySource(Repository repository, GitPolicySourceOptions options, string localPath, bool isClone)
    {
        _repository = repository;
        _options = options;
        LocalPath = localPath;
        IsClone = isClone;
    }

    /// <summary>The repository as given (path or URL), with a password written into the URL masked.</summary>
    public string Repository => GitUrl.Redact(_options.Repository);

    /// <summary>The ref followed when none is given.</summary>
    public string DefaultRef => _options.Ref;

    /// <summary>The policy file's path inside the repository.</summary>
    public string PolicyPath => _options.PolicyPath;

    /// <summary>The repository read: the local repository, or the clone in the cache folder.</summary>
    public string LocalPath { get; }

    /// <summary>True when <see cref="Repository"/> is a URL read through a clone.</summary>
    public bool IsClone { get; }

    /// <summary>Opens <paramref name="location"/> (<c>repo[@ref]</c>) with the other options at their defaults.</summary>
    public static GitPolicySource Open(string location) => Open(GitPolicySourceOptions.For(GitPolicyLocation.Parse(location)));

    /// <summary>
    /// Opens the repository: an existing local path is used in place; anything else is taken as a URL and cloned
    /// into the cache folder, or, when a clone of it is already there, fetched. Throws <see cref="GitPolicyException"/>
    /// when it is neither a repository nor a URL that can be cloned.
    /// </summary>
    public static GitPolicySource Open(GitPolicySourceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        string given = options.Repository;
        if (Directory.Exists(given) || File.Exists(given))
        {
            // The folder itself, not a repository above it: the policy path is relative to what was named.
            string full = Path.GetFullPath(given);
            if (!LibGit2Sharp.Repository.IsValid(full))
                throw new GitPolicyException($"{given}: not a git repository");
            if (options.Credentials is not null)
                throw new ArgumentException($"{given} is a local repository: credentials are for https URLs.", nameof(options));
            return new GitPolicySource(new Repository(full), options, full, isClone: false);
        }
        if (!LooksLikeUrl(given))
            throw new GitPolicyException($"{GitUrl.Redact(given)}: no such repository (not a local path, and not a URL to clone)");
        GitTransport.CheckUsable(given);
        return OpenClone(options);
    }

    private static GitPolicySource OpenClone(GitPolicySourceOptions options)
    {
        string url = options.Repository;
        string cache = options.CacheDirectory ?? DefaultCacheDirectory();
        string path = Path.Combine(cache, CacheName(url));
        if (Directory.Exists(path) && LibGit2Sharp.Repository.IsValid(path))
        {
            var existing = new Repository(path);
            if (string.Equals(existing.Network.Remotes["origin"]?.Url, url, StringComparison.Ordinal))
            {
                var reused = new GitPolicySource(existing, options, path, isClone: true);
                try
                {
                    reused.Fetch();
                }
                catch
                {
                    reused.Dispose();
                    throw;
                }
                return reused;
            }
            existing.Dispose();
        }
        // A broken or foreign folder under our cache name is ours to replace.
        if (Directory.Exists(path))
            Directory.Delete(path, recursive: true);
        Directory.CreateDirectory(cache);
        try
        {
            var clone = new CloneOptions { IsBare = true };
            var authentication = new GitAuthentication(options.Credentials);
            clone.FetchOptions.CredentialsProvider = authentication.Provide;
            try
            {
                LibGit2Sharp.Repository.Clone(url, path, clone);
            }
            catch (LibGit2SharpException ex)
            {
                throw authentication.Failure(GitUrl.Redact(url), "clone", ex);
            }
        }
        catch (GitPolicyException)
        {
            // Nothing half-cloned is left for the next start to trip over.
            if (Directory.Exists(path))
                Directory.Delete(path, recursive: true);
            throw;
        }
        var source = new GitPolicySource(new Repository(path), options, path, isClone: true);
        try
        {
            source.Fetch();
        }
        catch
        {
            source.Dispose();
            throw;
        }
        return source;
    }

    /// <summary>
    /// Brings a clone up to date with its remote (branches and tags, pruned); nothing for a local repository,
    /// which is read as it is. Throws <see cref="GitPolicyException"/> when the fetch fails.
    /// </summary>
    public void Fetch()
    {
        if (!IsClone)
            return;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var authentication = new GitAuthentication(_options.Credentials);
            var fetch = new FetchOptions { Prune = true, TagFetchMode = TagFetchMode.None, CredentialsProvider = authentication.Provide };
            try
            {
                Commands.Fetch(_repository, "origin", MirrorRefSpecs, fetch, null);
            }
            catch (LibGit2SharpException ex)
            {
                throw authentication.Failure(Repository, "fetch", ex);
            }
        }
    }

    /// <summary>The commit <paramref name="reference"/> (default <see cref="DefaultRef"/>) names; throws <see cref="GitPolicyException"/> when none.</summary>
    public GitPolicyCommit Resolve(string? reference = null) =>
        TryResolve(reference, out var commit) ? commit : throw new GitPolicyException($"{Repository}: '{reference ?? DefaultRef}' names no commit");

    /// <summary>The commit <paramref name="reference"/> (default <see cref="DefaultRef"/>) names: a branch, tag, commit id or revision expression.</summary>
    public bool TryResolve(string? reference, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out GitPolicyCommit? commit)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var found = Lookup(reference ?? DefaultRef);
            commit = found is null ? null : Describe(found);
            return commit is not null;
        }
    }

    /// <summary>
    /// Reads the policy file at the commit <paramref name="reference"/> (default <see cref="DefaultRef"/>) names and
    /// loads and validates it whole. A missing, oversized or unreadable file, bad YAML or an invalid policy is
    /// reported in <see cref="GitPolicyRevision.Errors"/>; a ref that names no commit throws <see cref="GitPolicyException"/>.
    /// </summary>
    public GitPolicyRevision Read(string? reference = null)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            try
            {
                return ReadAt(reference ?? DefaultRef);
            }
            catch (LibGit2SharpException ex)
            {
                throw new GitPolicyException($"{Repository}: reading {PolicyPath} failed: {ex.Message}", ex);
            }
        }
    }

    private GitPolicyRevision ReadAt(string name)
    {
        var commit = Lookup(name) ?? throw new GitPolicyException($"{Repository}: '{name}' names no commit");
        var described = Describe(commit);
        var entry = commit[PolicyPath];
        if (entry is null)
            return Failed(described, $"{PolicyPath} does not exist at commit {described.ShortSha}");
        if (entry.TargetType != TreeEntryTargetType.Blob)
            return Failed(described, $"{PolicyPath} at commit {described.ShortSha} is a {entry.TargetType.ToString().ToLowerInvariant()}, not a file");
        var blob = (Blob)entry.Target;
        if (blob.Size > _options.MaxPolicyBytes)
            return Failed(described, $"{PolicyPath} at commit {described.ShortSha} is {blob.Size} bytes, more than the {_options.MaxPolicyBytes} allowed");
        string yaml;
        try
        {
            yaml = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(ReadAll(blob));
        }
        catch (DecoderFallbackException)
        {
            return Failed(described, $"{PolicyPath} at commit {described.ShortSha} is not UTF-8 text");
        }
        // Editors on some systems save with a byte-order mark; it is not part of the YAML.
        var loaded = PolicyLoader.Load(yaml.StartsWith('\uFEFF') ? yaml[1..] : yaml);
        return new GitPolicyRevision(described, PolicyPath, loaded.Snapshot, loaded.Errors);
    }

    /// <summary>
    /// The commits reachable from <paramref name="reference"/> (default <see cref="DefaultRef"/>), newest first,
    /// at most <paramref name="max"/>; with <paramref name="policyChangesOnly"/>, only those that changed the policy file.
    /// </summary>
    public IReadOnlyList<GitPolicyCommit> Log(string? reference = null, int max = 50, bool policyChangesOnly = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(max);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            string name = reference ?? DefaultRef;
            var tip = Lookup(name) ?? throw new GitPolicyException($"{Repository}: '{name}' names no commit");
            var list = new List<GitPolicyCommit>();
            var filter = new CommitFilter { IncludeReachableFrom = tip, SortBy = CommitSortStrategies.Topological | CommitSortStrategies.Time };
            foreach (var c in _repository.Commits.QueryBy(filter))
            {
                if (list.Count >= max)
                    break;
                if (policyChangesOnly && !ChangesPolicy(c))
                    continue;
                list.Add(Describe(c));
            }
            return list;
        }
    }

    private bool ChangesPolicy(Commit commit)
    {
        var mine = commit[PolicyPath]?.Target.Id;
        if (!commit.Parents.Any())
            return mine is not null;
        foreach (var parent in commit.Parents)
        {
            if (parent[PolicyPath]?.Target.Id != mine)
                return true;
        }
        return false;
    }

    private Commit? Lookup(string reference)
    {
        try
        {
            var found = _repository.Lookup(reference);
            return found as Commit ?? found?.Peel<Commit>();
        }
        catch (LibGit2SharpException)
        {
            return null; // ambiguous short id, malformed expression: names no commit
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
        {
            return null; // an empty or unpeelable name (a tree or blob id)
        }
    }

    private static byte[] ReadAll(Blob blob)
    {
        using var stream = blob.GetContentStream();
        using var buffer = new MemoryStream((int)Math.Min(blob.Size, int.MaxValue));
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }

    private GitPolicyRevision Failed(GitPolicyCommit commit, string message) =>
        new(commit, PolicyPath, null, [new PolicyError("", message)]);

    private static GitPolicyCommit Describe(Commit c) => new(c.Sha, c.Author.When, c.Author.Name, c.Message);

    private static bool LooksLikeUrl(string text) =>
        text.Contains("://", StringComparison.Ordinal) || (text.Contains('@', StringComparison.Ordinal) && text.Contains(':', StringComparison.Ordinal));

    private static string DefaultCacheDirectory()
    {
        string root = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData);
        if (string.IsNullOrEmpty(root))
            root = Path.GetTempPath();
        return Path.Combine(root, "offload", "policy-repos");
    }

    // One folder per URL, named by its hash so any URL makes a safe folder name.
    private static string CacheName(string url) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(url)).AsSpan(0, 12));

    /// <inheritdoc/>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
                return;
            _disposed = true;
            _repository.Dispose();
        }
    }
}
