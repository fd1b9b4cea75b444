namespace Offload.Datapath;

/// <summary>Counters of the datapath's synchronisation with a slow path that tracks connections itself.</summary>
public sealed record DatapathSyncStats
{
    /// <summary>TCP FIN/RST packets of installed connections sent to the slow path (<see cref="DatapathOptions.PuntTcpTeardown"/>).</summary>
    public long TeardownsPunted { get; init; }
    /// <summary>Calls to <see cref="Datapath.RequestRemoveConnection"/>.</summary>
    public long RemovalsRequested { get; init; }
    /// <summary>Requested removals that removed a connection.</summary>
    public long RemovalsApplied { get; init; }
    /// <summary>Requested removals whose key no connection had (already gone, or never offloaded).</summary>
    public long RemovalsNotFound { get; init; }
    /// <summary>Activity reports completed.</summary>
    public long ActivityReports { get; init; }
    /// <summary>Connections reported active, all reports.</summary>
    public long ActivityReported { get; init; }
    /// <summary>Exceptions thrown by <see cref="Datapath.ActivityObserver"/> (caught and counted).</summary>
    public long ActivityObserverFailures { get; init; }
    /// <summary>Connections imported with <see cref="Datapath.ImportConnection"/>.</summary>
    public long ConnectionsImported { get; init; }
}
