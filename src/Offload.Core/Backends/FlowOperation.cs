using Offload.Actions;
using Offload.Conntrack;
using Offload.Flows;

namespace Offload.Backends;

/// <summary>What a backend is asked to do with one flow.</summary>
public enum FlowOperationKind : byte
{
    /// <summary>Install a new flow.</summary>
    Add,
    /// <summary>Replace the action of an installed flow (counters kept).</summary>
    Update,
    /// <summary>Remove a flow.</summary>
    Remove,
}

/// <summary>
/// One flow operation for <see cref="FlowBackend.TrySubmit"/>. The <see cref="Cookie"/> comes back in
/// the operation's <see cref="FlowCompletion"/>, so callers match completions to requests without a lookup.
/// </summary>
public readonly struct FlowOperation
{
    /// <summary>Add, update or remove.</summary>
    public FlowOperationKind Kind { get; init; }

    /// <summary>The flow's 7-tuple.</summary>
    public FlowKey Key { get; init; }

    /// <summary>The flow's action (ignored for <see cref="FlowOperationKind.Remove"/>).</summary>
    public FlowAction Action { get; init; }

    /// <summary>The connection this flow belongs to, and which direction of it the flow carries.</summary>
    public ConnectionId Connection { get; init; }

    /// <summary>Direction of <see cref="Connection"/> this flow carries.</summary>
    public ConnDirection Direction { get; init; }

    /// <summary>Report the flow as aged when it has seen no packet for this long; zero = never.</summary>
    public TimeSpan IdleTimeout { get; init; }

    /// <summary>Caller's correlation value, returned in the completion.</summary>
    public long Cookie { get; init; }

    /// <summary>An add operation.</summary>
    public static FlowOperation Add(in FlowKey key, in FlowAction action, ConnectionId connection = default,
        ConnDirection direction = ConnDirection.Original, TimeSpan idleTimeout = default, long cookie = 0) =>
        new() { Kind = FlowOperationKind.Add, Key = key, Action = action, Connection = connection, Direction = direction, IdleTimeout = idleTimeout, Cookie = cookie };

    /// <summary>An update operation.</summary>
    public static FlowOperation Update(in FlowKey key, in FlowAction action, ConnectionId connection = default,
        ConnDirection direction = ConnDirection.Original, TimeSpan idleTimeout = default, long cookie = 0) =>
        new() { Kind = FlowOperationKind.Update, Key = key, Action = action, Connection = connection, Direction = direction, IdleTimeout = idleTimeout, Cookie = cookie };

    /// <summary>A remove operation.</summary>
    public static FlowOperation Remove(in FlowKey key, long cookie = 0) =>
        new() { Kind = FlowOperationKind.Remove, Key = key, Cookie = cookie };
}

/// <summary>Outcome of a flow operation, or an aging report.</summary>
public enum FlowCompletionStatus : byte
{
    /// <summary>Done.</summary>
    Success,
    /// <summary>The table is full: the flow was not installed (the caller keeps it in software — never a silent drop).</summary>
    TableFull,
    /// <summary>The backend cannot express this flow (see <see cref="FlowCompletion.Detail"/>).</summary>
    Unsupported,
    /// <summary>Update/remove of a flow that is not installed; add of one that already is.</summary>
    NotFound,
    /// <summary>Add of a flow that is already installed.</summary>
    AlreadyExists,
    /// <summary>The device failed the operation (see <see cref="FlowCompletion.ErrorCode"/> and <see cref="FlowCompletion.IsTransient"/>).</summary>
    Failed,
    /// <summary>Not an answer to an operation: the flow has been idle past its idle timeout (aging).</summary>
    Aged,
}

/// <summary>A completed flow operation, or an aging report (<see cref="FlowCompletionStatus.Aged"/>).</summary>
public readonly struct FlowCompletion
{
    /// <summary>The operation kind this completes (for <see cref="FlowCompletionStatus.Aged"/>: <see cref="FlowOperationKind.Remove"/>, a suggestion).</summary>
    public FlowOperationKind Kind { get; init; }

    /// <summary>The flow.</summary>
    public FlowKey Key { get; init; }

    /// <summary>The outcome.</summary>
    public FlowCompletionStatus Status { get; init; }

    /// <summary>The operation's cookie.</summary>
    public long Cookie { get; init; }

    /// <summary>Backend-specific error code for <see cref="FlowCompletionStatus.Failed"/> (for DOCA, the doca_error_t); 0 otherwise.</summary>
    public int ErrorCode { get; init; }

    /// <summary>True when retrying the same operation may succeed.</summary>
    public bool IsTransient { get; init; }

    /// <summary>A human-readable reason for anything but success; null on success.</summary>
    public string? Detail { get; init; }

    /// <inheritdoc/>
    public override string ToString() => $"{Kind} {Key}: {Status}{(Detail is null ? "" : " (" + Detail + ")")}";
}

/// <summary>Immediate answer of <see cref="FlowBackend.TrySubmit"/>.</summary>
public enum SubmitStatus : byte
{
    /// <summary>Queued; a completion will follow.</summary>
    Accepted,
    /// <summary>The submission queue is full: back-pressure. Poll completions or await capacity, then submit again.</summary>
    QueueFull,
    /// <summary>The backend is failed or disposed; nothing was queued.</summary>
    Unavailable,
}
