using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Offload.Cli.Replay;
using Offload.Hosting;
using Offload.Policy;

namespace Offload.Cli.Agent;

/// <summary>The agent's policy read from a file, re-read on SIGHUP and <c>policy-check</c>.</summary>
internal sealed partial class FileAgentPolicy(string path, OffloadRuntime runtime, TimeProvider time, ILogger logger) : AgentPolicy
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Lock _historyLock = new();
    private readonly List<(DateTimeOffset At, string Kind, string Digest, int Updated, int Removed)> _history = new();
    private IReadOnlyList<string>? _lastRejected;

    public override async Task<PolicyCheckOutcome> CheckAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!File.Exists(path))
                return Rejected([$"{path} does not exist"]);
            PolicyLoadResult result;
            try
            {
                result = PolicyLoader.LoadFile(path);
            }
            catch (IOException ex)
            {
                return Failed($"{path} cannot be read: {ex.Message}");
            }
            if (result.Snapshot is not { } policy)
                return Rejected(result.Errors.Select(e => $"{path}: {PolicyFile.Describe(e)}").ToList());
            if (runtime.Policy is { } current && current.Equals(policy))
            {
                Record("initial", policy.Digest, 0, 0, onlyIfEmpty: true);
                return new PolicyCheckOutcome("unchanged", policy.Digest, path, []);
            }
            var revalidation = runtime.ApplyPolicy(policy);
            Record("update", policy.Digest, revalidation.Updated, revalidation.Removed, onlyIfEmpty: false);
            LogApplied(logger, path, policy.Digest, revalidation.Updated, revalidation.Removed);
            return new PolicyCheckOutcome("applied", policy.Digest, path, [], revalidation.Updated, revalidation.Removed);
        }
        finally
        {
            _gate.Release();
        }
    }

    private PolicyCheckOutcome Rejected(IReadOnlyList<string> errors)
    {
        _lastRejected = errors;
        foreach (string e in errors)
            LogRejected(logger, e);
        return new PolicyCheckOutcome("rejected", null, path, errors);
    }

    private PolicyCheckOutcome Failed(string failure)
    {
        LogRejected(logger, failure);
        return new PolicyCheckOutcome("failed", null, path, [failure]);
    }

    private void Record(string kind, string digest, int updated, int removed, bool onlyIfEmpty)
    {
        lock (_historyLock)
        {
            if (!onlyIfEmpty || _history.Count == 0)
                _history.Add((time.GetUtcNow(), kind, digest, updated, removed));
        }
    }

    public override Task<PolicyCheckOutcome> RollbackAsync(string commit, CancellationToken cancellationToken) =>
        throw new ControlException("unsupported", "rollback needs a policy in git; this agent reads a policy file (edit it and send SIGHUP)");

    public override (string Label, PolicySnapshot Policy) Resolve(string reference) =>
        throw new ControlException("unsupported", "this agent reads a policy file, not a repository: send the policy document to preview instead of a ref");

    public override TimeSpan? PollInterval => null;

    public override void WriteStatus(Utf8JsonWriter w)
    {
        w.WriteString("source", "file");
        w.WriteString("path", path);
        List<(DateTimeOffset At, string Kind, string Digest, int Updated, int Removed)> history;
        lock (_historyLock)
            history = [.. _history];
        w.WritePropertyName("current");
        if (history.Count == 0)
            w.WriteNullValue();
        else
            Entry(w, history[^1]);
        w.WriteStartArray("history");
        for (int i = history.Count - 1; i >= 0; i--)
            Entry(w, history[i]);
        w.WriteEndArray();
        w.WritePropertyName("lastRejected");
        if (_lastRejected is { } errors)
        {
            w.WriteStartObject();
            w.WriteString("commit", (string?)null);
            w.WriteString("summary", path);
            w.WriteStartArray("errors");
            foreach (string e in errors)
                w.WriteStringValue(e);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        else
        {
            w.WriteNullValue();
        }
    }

    private static void Entry(Utf8JsonWriter w, (DateTimeOffset At, string Kind, string Digest, int Updated, int Removed) e)
    {
        w.WriteStartObject();
        w.WriteString("commit", (string?)null);
        w.WriteString("summary", "policy file");
        w.WriteString("appliedAt", e.At.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture));
        w.WriteString("kind", e.Kind);
        w.WriteBoolean("policyChanged", e.Kind != "initial");
        w.WriteString("digest", e.Digest);
        w.WriteNumber("updated", e.Updated);
        w.WriteNumber("removed", e.Removed);
        w.WriteEndObject();
    }

    public override void Dispose() => _gate.Dispose();

    [LoggerMessage(EventId = 2111, Level = LogLevel.Information, Message = "policy file {Path} re-read: digest {Digest} in force; {Updated} connections updated, {Removed} removed")]
    private static partial void LogApplied(ILogger logger, string path, string digest, int updated, int removed);

    [LoggerMessage(EventId = 2112, Level = LogLevel.Error, Message = "policy file rejected, the policy in force stays: {Error}")]
    private static partial void LogRejected(ILogger logger, string error);
}
