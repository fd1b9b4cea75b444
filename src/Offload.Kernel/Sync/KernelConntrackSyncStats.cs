namespace Offload.Kernel.Sync;

/// <summary>Counters of a <see cref="KernelConntrackSync"/>.</summary>
public sealed record KernelConntrackSyncStats
{
    /// <summary>Kernel entries the sync follows now.</summary>
    public int KernelEntries { get; init; }
    /// <summary>DESTROYs seen (from events, or found missing by a resync).</summary>
    public long Destroys { get; init; }
    /// <summary>Removals asked of the datapath (<see cref="Offload.Datapath.Datapath.RequestRemoveConnection"/>).</summary>
    public long RemovalsRequested { get; init; }
    /// <summary>DESTROYs of entries the resolver does not map to the datapath.</summary>
    public long DestroysUnresolved { get; init; }
    /// <summary>DESTROYs skipped because the tuple already belongs to a newer kernel entry.</summary>
    public long DestroysSuperseded { get; init; }
    /// <summary>Timeouts set on kernel entries.</summary>
    public long TimeoutsRefreshed { get; init; }
    /// <summary>Refreshes of entries the kernel no longer had (ENOENT).</summary>
    public long RefreshesNotFound { get; init; }
    /// <summary>Refreshes left out because the datapath's connection had idled past its state's timeout.</summary>
    public long RefreshesExpired { get; init; }
    /// <summary>Refreshes waiting for the rate limit now.</summary>
    public int RefreshesWaiting { get; init; }
    /// <summary>Activity records dropped because too many were waiting.</summary>
    public long ActivityDropped { get; init; }
    /// <summary>Event overflows (ENOBUFS) the kernel reported.</summary>
    public long Overflows { get; init; }
    /// <summary>Resyncs from a dump (after an overflow or a failure).</summary>
    public long Resyncs { get; init; }
    /// <summary>Failures caught on the sync thread (it carries on).</summary>
    public long Errors { get; init; }
    /// <summary>The last failure's message, if any.</summary>
    public string? LastError { get; init; }
}
