namespace Offload.Policy.Git;

/// <summary>
/// Keeps a target's policy at the commit a git ref names: checks the repository (every
/// <see cref="GitPolicyTrackerOptions.PollInterval"/> in <see cref="RunAsync"/>, or at once with
/// <see cref="CheckNowAsync"/>, e.g. on SIGHUP), puts a new commit's policy in force atomically, and records
/// which commits were applied, when, and what revalidation did. A commit whose policy is invalid is rejected
/// with its errors while the last good commit stays in force, and is not tried again until the ref moves.
/// <see cref="RollbackAsync"/> puts any earlier commit back in force.
/// </summary>
/// <remarks>
/// Checks and rollbacks are serialised. After a rollback the tracker holds the rolled-back-to commit until the
/// followed ref names a commit other than the one it named at the rollback: the next push wins again.
/// </remarks>
public sealed class GitPolicyTracker : IDisposable
{
    private readonly GitPolicySource _source;
    private readonly IPolicyTarget _target;
    private readonly GitPolicyTrackerOptions _options;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Lock _historyLock = new();
    private readonly List<GitPolicyHistoryEntry> _history = new();
    private string? _lastSeenTip;
    private GitPolicyRevision? _lastRejected;
    private bool _applyFailed;

    /// <summary>Creates a tracker of <paramref name="source"/>'s default ref that applies to <paramref name="target"/>.</summary>
    public GitPolicyTracker(GitPolicySource source, IPolicyTarget target, GitPolicyTrackerOptions? options = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(target);
        options ??= new GitPolicyTrackerOptions();
        options.Validate();
        _source = source;
        _target = target;
        _options = options;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The repository read.</summary>
    public GitPolicySource Source => _source;

    /// <summary>The commit in force (the last history entry); <c>null</c> before the first apply.</summary>
    public GitPolicyHistoryEntry? Current
    {
        get
        {
            lock (_historyLock)
                return _history.Count == 0 ? null : _history[^1];
        }
    }

    /// <summary>Every commit put in force, oldest first (at most <see cref="GitPolicyTrackerOptions.MaxHistory"/>).</summary>
    public IReadOnlyList<GitPolicyHistoryEntry> History
    {
        get
        {
            lock (_historyLock)
                return _history.ToArray();
        }
    }

    /// <summary>The last commit rejected, with its errors; <c>null</c> when none was.</summary>
    public GitPolicyRevision? LastRejected => Volatile.Read(ref _lastRejected);

    /// <summary>Raised after every check, rollback included, on the thread that ran it (for logs and metrics).</summary>
    public event EventHandler<GitPolicyCheckedEventArgs>? Checked;

    /// <summary>
    /// Fetches (for a clone), resolves the followed ref and, when it names a commit not seen before, reads, validates
    /// and applies its policy. Repository and target failures are reported as <see cref="GitPolicyCheckStatus.Failed"/>
    /// and retried by the next check; only cancellation throws.
    /// </summary>
    public async Task<GitPolicyCheckResult> CheckNowAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        GitPolicyCheckResult result;
        try
        {
            result = await CheckCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
        Checked?.Invoke(this, new GitPolicyCheckedEventArgs(result));
        return result;
    }

    /// <summary>
    /// Puts the policy of <paramref name="commit"/> (a commit id, or any ref) back in force and records it as a
    /// rollback. An invalid policy there is rejected and the policy in force stays. The followed ref's current
    /// commit is then not re-applied by later checks until the ref moves.
    /// </summary>
    public async Task<GitPolicyCheckResult> RollbackAsync(string commit, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(commit);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        GitPolicyCheckResult result;
        try
        {
            result = await RollbackCoreAsync(commit, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
        Checked?.Invoke(this, new GitPolicyCheckedEventArgs(result));
        return result;
    }

    /// <summary>
    /// Checks at once, then every <see cref="GitPolicyTrackerOptions.PollInterval"/> until
    /// <paramref name="cancellationToken"/> is cancelled (then returns without throwing).
    /// </summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_options.PollInterval, _time);
        try
        {
            do
            {
                await CheckNowAsync(cancellationToken).ConfigureAwait(false);
            }
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping is not an error.
        }
    }

    private async Task<GitPolicyCheckResult> CheckCoreAsync(CancellationToken cancellationToken)
    {
        GitPolicyRevision revision;
        try
        {
            _source.Fetch();
            var tip = _source.Resolve();
            if (string.Equals(tip.Sha, _lastSeenTip, StringComparison.Ordinal))
                return GitPolicyCheckResult.Unchanged;
            revision = _source.Read(tip.Sha);
        }
        catch (GitPolicyException ex)
        {
            return new GitPolicyCheckResult(GitPolicyCheckStatus.Failed, Failure: ex.Message);
        }
        var result = await ApplyAsync(revision, Current is null ? GitPolicyApplyKind.Initial : GitPolicyApplyKind.Update, cancellationToken).ConfigureAwait(false);
        // A rejected commit is remembered as seen so it is not tried again every poll; a failure is retried.
        if (result.Status != GitPolicyCheckStatus.Failed)
            _lastSeenTip = revision.Commit.Sha;
        return result;
    }

    private async Task<GitPolicyCheckResult> RollbackCoreAsync(string commit, CancellationToken cancellationToken)
    {
        GitPolicyRevision revision;
        GitPolicyCommit? tip;
        try
        {
            _source.Fetch();
            revision = _source.Read(commit);
            _source.TryResolve(null, out tip);
        }
        catch (GitPolicyException ex)
        {
            return new GitPolicyCheckResult(GitPolicyCheckStatus.Failed, Failure: ex.Message);
        }
        var result = await ApplyAsync(revision, GitPolicyApplyKind.Rollback, cancellationToken).ConfigureAwait(false);
        if (result.Status == GitPolicyCheckStatus.Applied && tip is not null)
            _lastSeenTip = tip.Sha; // hold the rollback until the ref moves
        return result;
    }

    private async Task<GitPolicyCheckResult> ApplyAsync(GitPolicyRevision revision, GitPolicyApplyKind kind, CancellationToken cancellationToken)
    {
        if (revision.Snapshot is not { } policy)
            return Reject(revision);
        var current = _target.Current;
        // After a failed apply the target may hold the new policy with its flows not yet revalidated: apply again.
        if (!_applyFailed && current is not null && current.Equals(policy))
            return Record(revision, kind, policyChanged: false, null);
        PolicyApplyOutcome outcome;
        try
        {
            outcome = await _target.ApplyAsync(policy, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Whatever the target threw, polling must go on and the next check retry; the message says what it was.
            _applyFailed = true;
            return new GitPolicyCheckResult(GitPolicyCheckStatus.Failed,
                Failure: $"applying {revision.Commit.ShortSha} failed: {ex.GetType().Name}: {ex.Message}");
        }
        _applyFailed = false;
        if (!outcome.Success)
            return Reject(revision with { Snapshot = null, Errors = outcome.Errors });
        return Record(revision, kind, policyChanged: true, outcome);
    }

    private GitPolicyCheckResult Reject(GitPolicyRevision revision)
    {
        Volatile.Write(ref _lastRejected, revision);
        return new GitPolicyCheckResult(GitPolicyCheckStatus.Rejected, Rejected: revision);
    }

    private GitPolicyCheckResult Record(GitPolicyRevision revision, GitPolicyApplyKind kind, bool policyChanged, PolicyApplyOutcome? outcome)
    {
        var entry = new GitPolicyHistoryEntry(revision.Commit, _time.GetUtcNow(), kind, policyChanged, revision.Snapshot!.Digest, outcome?.Revalidation);
        lock (_historyLock)
        {
            _history.Add(entry);
            if (_history.Count > _options.MaxHistory)
                _history.RemoveRange(0, _history.Count - _options.MaxHistory);
        }
        return new GitPolicyCheckResult(GitPolicyCheckStatus.Applied, Applied: entry);
    }

    /// <inheritdoc/>
    public void Dispose() => _gate.Dispose();
}
