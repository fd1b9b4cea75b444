using System.Text.Json;
using Microsoft.Extensions.Logging;
using Offload.Policy;
using Offload.Policy.Git;

namespace Offload.Cli.Agent;

/// <summary>The agent's policy followed in a git repository by a <see cref="GitPolicyTracker"/>.</summary>
internal sealed partial class GitAgentPolicy : AgentPolicy
{
    private readonly GitPolicySource _source;
    private readonly GitPolicyTracker _tracker;
    private readonly ILogger _logger;
    private readonly TimeSpan _pollInterval;

    public GitAgentPolicy(GitPolicySource source, IPolicyTarget target, TimeSpan pollInterval, ILogger logger)
    {
        _source = source;
        _logger = logger;
        _pollInterval = pollInterval;
        _tracker = new GitPolicyTracker(source, target, new GitPolicyTrackerOptions { PollInterval = pollInterval });
        _tracker.Checked += (_, e) => Log(e.Result);
    }

    public GitPolicyTracker Tracker => _tracker;

    public override async Task<PolicyCheckOutcome> CheckAsync(CancellationToken cancellationToken) =>
        Outcome(await _tracker.CheckNowAsync(cancellationToken).ConfigureAwait(false));

    public override async Task<PolicyCheckOutcome> RollbackAsync(string commit, CancellationToken cancellationToken) =>
        Outcome(await _tracker.RollbackAsync(commit, cancellationToken).ConfigureAwait(false));

    public override (string Label, PolicySnapshot Policy) Resolve(string reference)
    {
        GitPolicyRevision revision;
        try
        {
            _source.Fetch();
            revision = _source.Read(reference);
        }
        catch (GitPolicyException ex)
        {
            throw new ControlException("not-found", ex.Message);
        }
        if (revision.Snapshot is not { } snapshot)
            throw new ControlException("invalid-policy", string.Join("\n", revision.DescribeErrors()));
        return (revision.Commit.ToString(), snapshot);
    }

    public override TimeSpan? PollInterval => _pollInterval;

    public override void WriteStatus(Utf8JsonWriter w)
    {
        w.WriteString("source", "git");
        w.WriteString("repository", _source.Repository);
        w.WriteString("ref", _source.DefaultRef);
        w.WriteString("policyPath", _source.PolicyPath);
        w.WritePropertyName("current");
        Entry(w, _tracker.Current);
        w.WriteStartArray("history");
        var history = _tracker.History;
        for (int i = history.Count - 1; i >= 0; i--)
            Entry(w, history[i]);
        w.WriteEndArray();
        w.WritePropertyName("lastRejected");
        if (_tracker.LastRejected is { } rejected)
        {
            w.WriteStartObject();
            w.WriteString("commit", rejected.Commit.Sha);
            w.WriteString("summary", rejected.Commit.Summary);
            w.WriteStartArray("errors");
            foreach (string e in rejected.DescribeErrors())
                w.WriteStringValue(e);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        else
        {
            w.WriteNullValue();
        }
    }

    private static void Entry(Utf8JsonWriter w, GitPolicyHistoryEntry? e)
    {
        if (e is null)
        {
            w.WriteNullValue();
            return;
        }
        w.WriteStartObject();
        w.WriteString("commit", e.Commit.Sha);
        w.WriteString("summary", e.Commit.Summary);
        w.WriteString("appliedAt", e.AppliedAt.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture));
        w.WriteString("kind", e.Kind.ToString().ToLowerInvariant());
        w.WriteBoolean("policyChanged", e.PolicyChanged);
        w.WriteString("digest", e.Digest);
        w.WriteNumber("updated", e.ConnectionsUpdated);
        w.WriteNumber("removed", e.ConnectionsRemoved);
        w.WriteEndObject();
    }

    private static PolicyCheckOutcome Outcome(GitPolicyCheckResult r) => r.Status switch
    {
        GitPolicyCheckStatus.Applied => new("applied", r.Applied!.Commit.Sha, r.Applied.Commit.Summary, [], r.Applied.ConnectionsUpdated, r.Applied.ConnectionsRemoved),
        GitPolicyCheckStatus.Rejected => new("rejected", r.Rejected!.Commit.Sha, r.Rejected.Commit.Summary, r.Rejected.DescribeErrors()),
        GitPolicyCheckStatus.Failed => new("failed", null, null, [r.Failure ?? "unknown failure"]),
        _ => new("unchanged", null, null, []),
    };

    private void Log(GitPolicyCheckResult r)
    {
        switch (r.Status)
        {
            case GitPolicyCheckStatus.Applied:
                LogApplied(_logger, r.Applied!.Kind.ToString().ToLowerInvariant(), r.Applied.Commit.Sha, r.Applied.Commit.Summary,
                    r.Applied.ConnectionsUpdated, r.Applied.ConnectionsRemoved);
                break;
            case GitPolicyCheckStatus.Rejected:
                foreach (string error in r.Rejected!.DescribeErrors())
                    LogRejected(_logger, r.Rejected.Commit.Sha, error, _tracker.Current?.Commit.Sha ?? "none");
                break;
            case GitPolicyCheckStatus.Failed:
                LogCheckFailed(_logger, r.Failure ?? "unknown failure");
                break;
        }
    }

    public override void Dispose()
    {
        _tracker.Dispose();
        _source.Dispose();
    }

    [LoggerMessage(EventId = 2101, Level = LogLevel.Information, Message = "policy {Kind}: commit {Commit} ({Summary}) in force; {Updated} connections updated, {Removed} removed")]
    private static partial void LogApplied(ILogger logger, string kind, string commit, string summary, int updated, int removed);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Error, Message = "policy commit {Commit} rejected: {Error}; commit {Current} stays in force")]
    private static partial void LogRejected(ILogger logger, string commit, string error, string current);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Warning, Message = "policy check failed (retried at the next check): {Failure}")]
    private static partial void LogCheckFailed(ILogger logger, string failure);
}
