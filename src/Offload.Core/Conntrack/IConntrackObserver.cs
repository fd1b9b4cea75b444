namespace Offload.Conntrack;

/// <summary>
/// Told about every connection that leaves a <see cref="ConntrackTable"/> (the datapath removes the
/// connection's fast-path flows). Called synchronously on the table's thread; the callback must not
/// modify the table (reading it is fine) — doing so throws <see cref="InvalidOperationException"/>.
/// </summary>
public interface IConntrackObserver
{
    /// <summary>The connection <paramref name="id"/> was removed; <paramref name="info"/> is its last state.</summary>
    void OnRemoved(ConnectionId id, in ConnectionInfo info, ConntrackRemoveReason reason);
}
