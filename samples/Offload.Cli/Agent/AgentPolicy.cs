using System.Text.Json;
using Offload.Policy;

namespace Offload.Cli.Agent;

/// <summary>
/// Where the agent's policy comes from — a git repository followed by <see cref="GitAgentPolicy"/> or a file
/// re-read by <see cref="FileAgentPolicy"/> — with what the control commands and SIGHUP need of it.
/// </summary>
internal abstract class AgentPolicy : IDisposable
{
    /// <summary>Checks for a new policy and applies it (SIGHUP, <c>policy-check</c>, the poll).</summary>
    public abstract Task<PolicyCheckOutcome> CheckAsync(CancellationToken cancellationToken);

    /// <summary>Puts the policy of an earlier commit back in force.</summary>
    public abstract Task<PolicyCheckOutcome> RollbackAsync(string commit, CancellationToken cancellationToken);

    /// <summary>The policy at <paramref name="reference"/> and a label for it, for a preview.</summary>
    public abstract (string Label, PolicySnapshot Policy) Resolve(string reference);

    /// <summary>How often to check without being asked; null when only SIGHUP and <c>policy-check</c> do.</summary>
    public abstract TimeSpan? PollInterval { get; }

    /// <summary>Writes the status object's source-specific members.</summary>
    public abstract void WriteStatus(Utf8JsonWriter w);

    public virtual void Dispose()
    {
    }
}

/// <summary>What one check or rollback did, as the agent reports it.</summary>
/// <param name="Status">applied, unchanged, rejected or failed.</param>
/// <param name="Commit">The commit (or file digest) concerned.</param>
/// <param name="Summary">Its one-line description.</param>
/// <param name="Errors">Why it was rejected or failed.</param>
/// <param name="Updated">Connections updated by revalidation.</param>
/// <param name="Removed">Connections removed by revalidation.</param>
internal sealed record PolicyCheckOutcome(string Status, string? Commit, string? Summary, IReadOnlyList<string> Errors, int Updated = 0, int Removed = 0)
{
    public void Write(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("status", Status);
        w.WriteString("commit", Commit);
        w.WriteString("summary", Summary);
        w.WriteNumber("updated", Updated);
        w.WriteNumber("removed", Removed);
        w.WriteStartArray("errors");
        foreach (string e in Errors)
            w.WriteStringValue(e);
        w.WriteEndArray();
        w.WriteEndObject();
    }
}
