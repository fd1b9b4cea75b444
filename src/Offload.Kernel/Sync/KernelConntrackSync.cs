using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Offload.Conntrack;
using Offload.Kernel.Conntrack;
using Offload.Kernel.Namespaces;

namespace Offload.Kernel.Sync;

/// <summary>
/// Keeps the kernel's conntrack and a <see cref="Offload.Datapath.Datapath"/>'s in agreement when the kernel is the slow
/// path (claim C5). Kernel → datapath: every DESTROY (timeout, TCP close, <c>conntrack -D</c>, flush) of an entry the
/// resolver maps to a datapath connection asks the datapath to remove that connection and its flows; events lost to an
/// overflow are recovered by a resync from a dump (<see cref="KernelConntrackMirror"/>), and a periodic resync
/// (<see cref="KernelConntrackSyncOptions.ResyncInterval"/>) catches entries the kernel sends no events for.
/// Datapath → kernel: as the datapath's <see cref="Offload.Datapath.IConnectionActivityObserver"/>, the connections
/// the fast path carried get their kernel timeout set again (by protocol and state, less the time idle), batched and
/// rate-limited, since their packets never reached the kernel.
/// </summary>
/// <remarks>
/// Runs on its own thread from <see cref="Start"/> to <see cref="Dispose"/>; failures on it are caught, counted
/// (<see cref="GetStats"/>) and followed by a resync — nothing is thrown out of it. The TCP close reaching the kernel is
/// the datapath's part (<see cref="Offload.Datapath.DatapathOptions.PuntTcpTeardown"/>).
/// </remarks>
public sealed partial class KernelConntrackSync : Offload.Datapath.IConnectionActivityObserver, IDisposable
{
    private readonly Offload.Datapath.Datapath _datapath;
    private readonly IKernelConnectionResolver _resolver;
    private readonly KernelConntrackSyncOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly KernelConntrackMirror _mirror = new();
    private readonly ManualResetEventSlim _stopped = new();
    private readonly List<ConntrackEvent> _raised = new();
    private CtnetlinkEventListener? _listener;
    private CtnetlinkClient? _client;
    private Thread? _thread;
    private volatile bool _stopping;
    private bool _disposed;

    private long _destroys, _removalsRequested, _destroysUnresolved, _destroysSuperseded, _errors, _resyncs, _overflows;
    private int _kernelEntries;
    private string? _lastError;

    /// <summary>Creates the sync; nothing runs before <see cref="Start"/>.</summary>
    /// <param name="datapath">The datapath whose connections follow the kernel's.</param>
    /// <param name="resolver">Maps kernel entries to datapath keys (the kernel slow path).</param>
    /// <param name="options">Settings; defaults when null.</param>
    /// <param name="timeProvider">The datapath's clock (activity times are its timestamps).</param>
    /// <param name="logger">Where failures and resyncs are logged.</param>
    public KernelConntrackSync(Offload.Datapath.Datapath datapath, IKernelConnectionResolver resolver, KernelConntrackSyncOptions? options = null,
        TimeProvider? timeProvider = null, ILogger? logger = null)
    {
        _datapath = datapath ?? throw new ArgumentNullException(nameof(datapath));
        _resolver = resolver ?? throw new ArgumentNullException(nameof(resolver));
        _options = options ?? new KernelConntrackSyncOptions();
        _options.Validate();
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        _lastRefill = _time.GetTimestamp();
        _tokens = _options.MaxTimeoutUpdatesPerSecond;
    }

    /// <summary>
    /// Opens the ctnetlink sockets in <paramref name="ns"/> (null: the calling thread's namespace), learns the kernel's
    /// current entries from a dump, becomes the datapath's <see cref="Offload.Datapath.Datapath.ActivityObserver"/> and
    /// starts the sync thread. Failures here (no permission, no conntrack) throw: nothing is left running.
    /// </summary>
    /// <exception cref="InvalidOperationException">Already started.</exception>
    public void Start(NetworkNamespace? ns = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_thread is not null)
            throw new InvalidOperationException("The sync is already running.");
        (_listener, _client) = NetworkNamespace.RunIn(ns, () =>
        {
            var listener = CtnetlinkEventListener.Open(ConntrackEventGroups.New | ConntrackEventGroups.Destroy, _options.EventWait,
                _options.EventBufferBytes);
            try
            {
                return (listener, CtnetlinkClient.Open(TimeSpan.FromSeconds(5)));
            }
            catch
            {
                listener.Dispose();
                throw;
            }
        });
        try
        {
            // Entries that exist before the first event must be known, or their DESTROY would be taken for an unknown
            // entry's and dropped. Events queued meanwhile are applied on top (the mirror tells recreated entries apart).
            _raised.Clear();
            _mirror.Resync(_client.Dump(), _raised);
            _raised.Clear();
            _kernelEntries = _mirror.Count;
        }
        catch
        {
            _listener.Dispose();
            _client.Dispose();
            throw;
        }
        _datapath.ActivityObserver = this;
        _thread = new Thread(Run) { IsBackground = true, Name = "offload conntrack sync" };
        _thread.Start();
        KernelSyncLog.Started(_logger, _mirror.Count);
    }

    /// <summary>The counters (from any thread; values may lag by one loop).</summary>
    public KernelConntrackSyncStats GetStats() => new()
    {
        KernelEntries = Volatile.Read(ref _kernelEntries),
        Destroys = Interlocked.Read(ref _destroys),
        RemovalsRequested = Interlocked.Read(ref _removalsRequested),
        DestroysUnresolved = Interlocked.Read(ref _destroysUnresolved),
        DestroysSuperseded = Interlocked.Read(ref _destroysSuperseded),
        TimeoutsRefreshed = Interlocked.Read(ref _timeoutsRefreshed),
        RefreshesNotFound = Interlocked.Read(ref _refreshesNotFound),
        RefreshesExpired = Interlocked.Read(ref _refreshesExpired),
        RefreshesWaiting = Volatile.Read(ref _refreshesWaiting),
        ActivityDropped = Interlocked.Read(ref _activityDropped),
        Overflows = Interlocked.Read(ref _overflows),
        Resyncs = Interlocked.Read(ref _resyncs),
        Errors = Interlocked.Read(ref _errors),
        LastError = Volatile.Read(ref _lastError),
    };

    private void Run()
    {
        bool resync = false;
        TimeSpan every = _options.ResyncInterval;
        bool periodic = every > TimeSpan.Zero;
        long lastResync = _time.GetTimestamp();
        while (!_stopping)
        {
            try
            {
                _raised.Clear();
                if (periodic && _time.GetElapsedTime(lastResync) >= every)
                    resync = true;
                if (resync)
                {
                    lastResync = _time.GetTimestamp();
                    Resync();
                    resync = false;
                }
                else
                {
                    long resyncs = _mirror.Resyncs;
                    _mirror.Poll(_listener!, _client!, _raised);
                    Interlocked.Exchange(ref _overflows, _listener!.Overflows);
                    if (_mirror.Resyncs != resyncs)
                    {
                        Interlocked.Increment(ref _resyncs);
                        KernelSyncLog.Resynced(_logger, _listener.Overflows, _mirror.Count);
                    }
                }
                HandleEvents();
                Volatile.Write(ref _kernelEntries, _mirror.Count);
                RefreshTimeouts();
            }
            catch (Exception e)
            {
                // Whatever failed (a socket error, a resolver bug), the events of this round may be lost: resync.
                Interlocked.Increment(ref _errors);
                Volatile.Write(ref _lastError, e.Message);
                KernelSyncLog.Failed(_logger, e);
                resync = true;
                _stopped.Wait(_options.ErrorBackoff);
            }
        }
    }

    private void Resync()
    {
        List<KernelConntrackEntry> dump = _client!.Dump();
        _mirror.Resync(dump, _raised);
        Interlocked.Increment(ref _resyncs);
    }

    private void HandleEvents()
    {
        foreach (ConntrackEvent e in _raised)
        {
            if (e.Kind != ConntrackEventKind.Destroy)
                continue;
            Interlocked.Increment(ref _destroys);
            KernelConntrackEntry entry = e.Entry;
            // The mirror has applied the whole batch: an entry it still holds under this tuple is a newer connection
            // (the tuple was reused, as by a SYN re-opening a closed one) that the datapath may already track.
            if (_mirror.TryGet(entry.Original, entry.Zone, out _))
            {
                Interlocked.Increment(ref _destroysSuperseded);
                continue;
            }
            bool resolved;
            Offload.Flows.FlowKey key;
            try
            {
                resolved = _resolver.TryResolveDatapathKey(in entry, out key);
            }
            catch (Exception ex)
            {
                // One entry the resolver cannot handle must not cost the DESTROYs after it.
                Interlocked.Increment(ref _errors);
                Volatile.Write(ref _lastError, ex.Message);
                continue;
            }
            if (!resolved)
            {
                Interlocked.Increment(ref _destroysUnresolved);
                continue;
            }
            ForgetRefresh(in key);
            if (_datapath.RequestRemoveConnection(in key, ConntrackRemoveReason.SlowPath))
                Interlocked.Increment(ref _removalsRequested);
        }
    }

    /// <summary>Stops the sync thread (within about <see cref="KernelConntrackSyncOptions.EventWait"/>), releases the
    /// sockets, and stops being the datapath's activity observer.</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        _stopping = true;
        _stopped.Set();
        _thread?.Join();
        if (ReferenceEquals(_datapath.ActivityObserver, this))
            _datapath.ActivityObserver = null;
        _listener?.Dispose();
        _client?.Dispose();
        _stopped.Dispose();
    }
}
