using Microsoft.Extensions.Logging;

namespace Offload.Hosting;

/// <summary>
/// Every log message of the hosted switch, source-generated. Event ids are stable: never renumber or reuse one —
/// operators alert on them. 1xxx lifecycle, 2xxx policy, 3xxx backend, 4xxx datapath.
/// </summary>
internal static partial class OffloadLog
{
    [LoggerMessage(EventId = 1001, EventName = "Starting", Level = LogLevel.Information,
        Message = "Offload starting: backend {Backend}, slow path {SlowPath}, policy from {PolicySource}")]
    public static partial void Starting(ILogger logger, string backend, string slowPath, string policySource);

    [LoggerMessage(EventId = 1002, EventName = "Started", Level = LogLevel.Information,
        Message = "Offload started: backend {Backend}, slow path {SlowPath}, {LocalPorts} local ports, polling every {PollIntervalMs} ms")]
    public static partial void Started(ILogger logger, string backend, string slowPath, int localPorts, double pollIntervalMs);

    [LoggerMessage(EventId = 1003, EventName = "StartFailed", Level = LogLevel.Critical,
        Message = "Offload could not start: {Reason}")]
    public static partial void StartFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 1004, EventName = "Stopped", Level = LogLevel.Information,
        Message = "Offload stopped after {Frames} frames ({FastPathFrames} fast path, {SlowPathFrames} slow path, {Dropped} dropped)")]
    public static partial void Stopped(ILogger logger, long frames, long fastPathFrames, long slowPathFrames, long dropped);

    [LoggerMessage(EventId = 2001, EventName = "PolicyApplied", Level = LogLevel.Information,
        Message = "Policy {Digest} applied: {Checked} connections revalidated, {Updated} updated, {Removed} removed, in {ElapsedMs} ms")]
    public static partial void PolicyApplied(ILogger logger, string digest, int @checked, int updated, int removed, double elapsedMs);

    [LoggerMessage(EventId = 2002, EventName = "PolicyRejected", Level = LogLevel.Error,
        Message = "Policy {Source} rejected ({ErrorCount} errors): {Errors}")]
    public static partial void PolicyRejected(ILogger logger, string source, int errorCount, string errors);

    [LoggerMessage(EventId = 3001, EventName = "BackendFallback", Level = LogLevel.Warning,
        Message = "Backend 'auto': using software because {Reason}")]
    public static partial void BackendFallback(ILogger logger, string reason);

    [LoggerMessage(EventId = 3002, EventName = "BackendHealthChanged", Level = LogLevel.Warning,
        Message = "Backend {Backend} health {Previous} -> {Current}: {Reason}")]
    public static partial void BackendHealthChanged(ILogger logger, string backend, string previous, string current, string reason);

    [LoggerMessage(EventId = 4001, EventName = "PollFailed", Level = LogLevel.Error,
        Message = "Datapath housekeeping failed; retrying at the next poll")]
    public static partial void PollFailed(ILogger logger, Exception exception);
}
