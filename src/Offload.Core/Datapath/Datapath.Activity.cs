using Offload.Conntrack;

namespace Offload.Datapath;

// Activity reports: which connections the fast path carried, for a slow path whose own tracker would otherwise time
// them out. Found by walking the connection records a slice per Poll and comparing each connection's last-seen time
// with the start of the previous report, so the packet path pays nothing. The time of the last packet the slow path
// saw is kept per slot (only while an observer is set) to leave out connections whose latest packet it saw itself.
public sealed partial class Datapath
{
    private IConnectionActivityObserver? _activityObserver;
    private IConnectionActivityObserver? _activityFor; // the observer the state below was set up for
    private ConnectionActivity[] _activityBatch = [];
    private long[] _slowSeen = [];
    private int _activityCursor = -1; // next slot of the report under way; -1 when none is
    private int _activityInReport;
    private long _activitySince; // packets after this time are activity
    private long _activityStarted;
    private long _activitySetAt;
    private long _nextActivityReport;
    private long _activityReports, _activityReported, _activityObserverFailures;

    /// <summary>
    /// Told which connections carried fast-path packets (see <see cref="IConnectionActivityObserver"/>); null for none.
    /// May be set from any thread; the next <see cref="Poll"/> takes it up, and its first report covers packets from
    /// the moment it was set. Failures of the observer are counted (<see cref="DatapathSyncStats.ActivityObserverFailures"/>), never
    /// thrown out of Poll.
    /// </summary>
    public IConnectionActivityObserver? ActivityObserver
    {
        get => Volatile.Read(ref _activityObserver);
        set
        {
            Volatile.Write(ref _activitySetAt, _time.GetTimestamp());
            Volatile.Write(ref _activityObserver, value);
        }
    }

    private void NoteSlowPathPacket(ConnectionId id, long lastSeenTicks)
    {
        // An observer set since the last Poll is taken up here already, or this packet would count as fast-path activity.
        var observer = Volatile.Read(ref _activityObserver);
        if (!ReferenceEquals(observer, _activityFor))
            ResetActivity(observer);
        if (_slowSeen.Length == 0)
            return;
        int slot = id.Slot;
        if (slot >= _slowSeen.Length)
            Array.Resize(ref _slowSeen, Math.Max(_conntrack.Capacity, slot + 1));
        _slowSeen[slot] = lastSeenTicks;
    }

    private int ActivitySlice()
    {
        var observer = Volatile.Read(ref _activityObserver);
        if (!ReferenceEquals(observer, _activityFor))
            ResetActivity(observer);
        if (observer is null)
            return 0;
        if (_activityCursor < 0)
        {
            long now = _time.GetTimestamp();
            if (now < _nextActivityReport)
                return 0;
            _activityCursor = 0;
            _activityInReport = 0;
            _activityStarted = now;
        }

        int slice = _options.ActivityScanSlice;
        if (_activityBatch.Length < slice)
            _activityBatch = new ConnectionActivity[slice];
        int start = _activityCursor;
        int end = (int)Math.Min(_connections.Length, (long)start + slice);
        int n = 0;
        for (int slot = start; slot < end; slot++)
        {
            ref var record = ref _connections[slot];
            if (record.Installed == 0 || !_conntrack.TryGet(record.Id, out var info) || info.LastSeenTicks <= _activitySince)
                continue;
            if (slot < _slowSeen.Length && _slowSeen[slot] == info.LastSeenTicks)
                continue;
            _activityBatch[n++] = new ConnectionActivity(info.Original, info.State, info.LastSeenTicks, info.TimeoutRemaining);
        }
        _activityCursor = end;
        _activityInReport += n;
        _activityReported += n;
        bool done = end >= _connections.Length;
        if (n > 0 || (done && _activityInReport > 0))
        {
            try
            {
                observer.OnActivity(_activityBatch.AsSpan(0, n), done);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                _activityObserverFailures++;
            }
        }
        if (done)
        {
            _activityReports++;
            // A packet between this report's start and its visit of a slot is reported twice, never missed.
            _activitySince = _activityStarted;
            _activityCursor = -1;
            _nextActivityReport = _activityStarted + (long)(_options.ActivityReportInterval.TotalSeconds * _time.TimestampFrequency);
        }
        return n;
    }

    private void ResetActivity(IConnectionActivityObserver? observer)
    {
        _activityFor = observer;
        _activityCursor = -1;
        if (observer is null)
        {
            _slowSeen = [];
            _activityBatch = [];
            return;
        }
        long now = _time.GetTimestamp();
        _activitySince = Math.Min(Volatile.Read(ref _activitySetAt), now);
        _nextActivityReport = now + (long)(_options.ActivityReportInterval.TotalSeconds * _time.TimestampFrequency);
        _slowSeen = new long[Math.Max(1, _connections.Length)];
    }
}
