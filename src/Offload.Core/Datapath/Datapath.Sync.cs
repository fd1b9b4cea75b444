using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Offload.Conntrack;
using Offload.Flows;
using Offload.Packets;

namespace Offload.Datapath;

// Keeping a slow path that tracks connections itself (the kernel's conntrack) and ours in agreement (claim C5): its
// removals are applied here, and the TCP close reaches it.
public sealed partial class Datapath
{
    private readonly ConcurrentQueue<(FlowKey Key, ConntrackRemoveReason Reason)> _removals = new();
    // Keys whose punted packet still waits for its decision: later packets of the key queue behind it. Entries whose
    // decision has been applied are dropped lazily (by the next packet of the key, or by Poll).
    private readonly HashSet<FlowKey> _punted = new();
    private Predicate<FlowKey>? _puntDecided;
    private long _teardownsPunted, _removalsRequested, _removalsApplied, _removalsNotFound, _imported;

    /// <summary>
    /// Asks for the connection one of whose tuples is <paramref name="key"/> (original or reply 7-tuple; the ingress
    /// port is ignored, the VNI is the zone) to be removed — its conntrack entry and both flows — by the next
    /// <see cref="Poll"/>, on the datapath's thread. <see cref="ISlowPathObserver.OnConnectionRemoved(in ConnectionInfo, ConntrackRemoveReason)"/>
    /// is told with <paramref name="reason"/>. Thread-safe: for a slow path whose own tracker ended the connection (a
    /// kernel DESTROY). A key no connection has is counted and ignored.
    /// </summary>
    /// <returns>False when the datapath is disposed (nothing is queued).</returns>
    public bool RequestRemoveConnection(in FlowKey key, ConntrackRemoveReason reason = ConntrackRemoveReason.SlowPath)
    {
        if (Volatile.Read(ref _disposed))
            return false;
        _removals.Enqueue((key, reason));
        Interlocked.Increment(ref _removalsRequested);
        return true;
    }

    /// <summary>Counters of the synchronisation with the slow path (read on any thread; values may lag).</summary>
    public DatapathSyncStats GetSyncStats() => new()
    {
        TeardownsPunted = Volatile.Read(ref _teardownsPunted),
        RemovalsRequested = Interlocked.Read(ref _removalsRequested),
        RemovalsApplied = Volatile.Read(ref _removalsApplied),
        RemovalsNotFound = Volatile.Read(ref _removalsNotFound),
        ActivityReports = Volatile.Read(ref _activityReports),
        ActivityReported = Volatile.Read(ref _activityReported),
        ActivityObserverFailures = Volatile.Read(ref _activityObserverFailures),
        ConnectionsImported = Volatile.Read(ref _imported),
    };

    // The fast path's question for a hit of a tracked connection: must this packet go to the slow path instead? A TCP
    // FIN or RST when teardown is punted; any packet of a key whose punted packet is still waiting (order).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool MustPunt(in ParsedPacket p, in FlowKey key)
    {
        if (_punted.Count != 0 && IsBehindPunt(key))
            return true;
        if (!_options.PuntTcpTeardown || p.Protocol != IpProtocol.Tcp || (p.TcpFlags & (TcpFlags.Fin | TcpFlags.Rst)) == 0)
            return false;
        _teardownsPunted++;
        _punted.Add(key);
        return true;
    }

    private bool IsBehindPunt(in FlowKey key)
    {
        if (!_punted.Contains(key))
            return false;
        if (_pending.ContainsKey(key))
            return true;
        _punted.Remove(key);
        return false;
    }

    // Poll's share: requested removals (all queued when Poll began, so producers cannot keep it busy), forgotten punts,
    // and a slice of the activity report.
    private int PollSync()
    {
        int work = 0;
        for (int n = _removals.Count; n > 0 && _removals.TryDequeue(out var removal); n--)
        {
            if (_conntrack.TryLookup(removal.Key, out var id, out _) && _conntrack.Remove(id, removal.Reason))
                _removalsApplied++;
            else
                _removalsNotFound++;
            work++;
        }
        if (_punted.Count != 0)
            _punted.RemoveWhere(_puntDecided ??= k => !_pending.ContainsKey(k));
        work += ActivitySlice();
        return work;
    }
}
