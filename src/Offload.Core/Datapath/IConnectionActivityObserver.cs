namespace Offload.Datapath;

/// <summary>
/// Told which connections the fast path carried, so that a slow path that tracks connections itself (the kernel's
/// conntrack) can keep them alive: packets the fast path handles never reach it (claim C5).
/// </summary>
/// <remarks>
/// <see cref="Datapath.Poll"/> starts a report at most once per <see cref="DatapathOptions.ActivityReportInterval"/>
/// and hands it over in parts as it walks the connections (<see cref="DatapathOptions.ActivityScanSlice"/> per Poll),
/// so no Poll does unbounded work. A report holds every connection with installed flows whose latest packet since the
/// previous report went through the fast path; one whose latest packet went through the slow path is left out, as
/// that packet refreshed the slow path's own entry. Called on the datapath's thread: copy what is needed and return.
/// </remarks>
public interface IConnectionActivityObserver
{
    /// <summary>
    /// One part of a report. <paramref name="connections"/> is valid only during the call;
    /// <paramref name="endOfReport"/> is true on the report's last part (which may be empty).
    /// </summary>
    void OnActivity(ReadOnlySpan<ConnectionActivity> connections, bool endOfReport);
}
