using Microsoft.Extensions.Logging;

namespace Offload.Kernel.Sync;

/// <summary>Log messages of the kernel conntrack sync. Event ids are stable (5xxx: kernel slow path).</summary>
internal static partial class KernelSyncLog
{
    [LoggerMessage(EventId = 5101, EventName = "ConntrackSyncStarted", Level = LogLevel.Information,
        Message = "Kernel conntrack sync started with {Entries} kernel entries")]
    public static partial void Started(ILogger logger, int entries);

    [LoggerMessage(EventId = 5102, EventName = "ConntrackSyncFailed", Level = LogLevel.Warning,
        Message = "Kernel conntrack sync failed; resyncing after a pause")]
    public static partial void Failed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 5103, EventName = "ConntrackSyncResynced", Level = LogLevel.Information,
        Message = "Kernel conntrack events were lost (overflow {Overflows}); resynced from a dump of {Entries} entries")]
    public static partial void Resynced(ILogger logger, long overflows, int entries);
}
