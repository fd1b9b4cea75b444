using Offload.Actions;
using Offload.Conntrack;
using Offload.Flows;

namespace Offload.Backends.Software;

/// <summary>Options of <see cref="SoftwareBackend"/>.</summary>
public sealed class SoftwareBackendOptions
{
    /// <summary>Flow capacity (fixed at construction, like a hardware table). Default 4,194,304.</summary>
    public int Capacity { get; set; } = 4 * 1024 * 1024;

    /// <summary>Operations whose completions may be outstanding before <see cref="SubmitStatus.QueueFull"/>. Default 4096.</summary>
    public int QueueDepth { get; set; } = 4096;

    /// <summary>Entries examined for aging per <see cref="FlowBackend.PollCompletions"/> call. Default 4096.</summary>
    public int AgingScanSlice { get; set; } = 4096;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(Capacity, 1, nameof(Capacity));
        ArgumentOutOfRangeException.ThrowIfLessThan(QueueDepth, 1, nameof(QueueDepth));
        ArgumentOutOfRangeException.ThrowIfLessThan(AgingScanSlice, 1, nameof(AgingScanSlice));
    }
}

/// <summary>
/// The software fast path: flows in a <see cref="FlowTable{TValue}"/> in this process. Operations take
/// effect when submitted (a flow is live for the next packet) and are confirmed through the same
/// completion queue a hardware backend uses, so callers have one code path for both.
/// </summary>
public sealed class SoftwareBackend : FlowBackend
{
    private readonly object _gate = new();
    private readonly FlowTable<FastPathEntry> _table;
    private readonly ActionProgramRegistry _programs = new();
    private readonly Queue<FlowCompletion> _completions = new();
    private readonly SoftwareBackendOptions _options;
    private readonly TimeProvider _time;
    private readonly int[] _agingHandles;
    private int _agingCursor;
    private int _agingFlows; // flows with an idle timeout: the aging scan runs only when there are some
    private bool _disposed;

    /// <summary>Creates a software backend.</summary>
    public SoftwareBackend(SoftwareBackendOptions? options = null, TimeProvider? timeProvider = null)
    {
        _options = options ?? new SoftwareBackendOptions();
        _options.Validate();
        _time = timeProvider ?? TimeProvider.System;
        _table = new FlowTable<FastPathEntry>(_options.Capacity);
        _agingHandles = new int[Math.Min(_options.AgingScanSlice, 1024)];
        Capabilities = new BackendCapabilities(_options.Capacity, _options.QueueDepth, MatchCapabilities.All, ActionCapabilities.All,
            SupportsConntrack: true, SupportsAging: true, SupportsCounters: true);
    }

    /// <inheritdoc/>
    public override string Name => "software";

    /// <inheritdoc/>
    public override BackendCapabilities Capabilities { get; }

    /// <inheritdoc/>
    public override int Count => _table.Count;

    /// <summary>The interned action programs.</summary>
    public ActionProgramRegistry Programs => _programs;

    /// <summary>Bytes of memory the flow table holds.</summary>
    public long AllocatedBytes => _table.AllocatedBytes;

    /// <inheritdoc/>
    public override SubmitStatus TrySubmit(in FlowOperation operation)
    {
        lock (_gate)
        {
            if (_disposed || Health == BackendHealth.Failed)
                return SubmitStatus.Unavailable;
            if (_completions.Count >= _options.QueueDepth)
                return SubmitStatus.QueueFull;
            _completions.Enqueue(Execute(operation));
            return SubmitStatus.Accepted;
        }
    }

    private FlowCompletion Execute(in FlowOperation op)
    {
        var status = FlowCompletionStatus.Success;
        string? detail = null;
        switch (op.Kind)
        {
            case FlowOperationKind.Add:
            {
                if (op.Action.Program is null)
                {
                    status = FlowCompletionStatus.Unsupported;
                    detail = "no action program";
                    break;
                }
                int id = _programs.Intern(op.Action.Program);
                var entry = new FastPathEntry(id, op.Action.Nat, op.Connection, op.Direction, IdleSeconds(op.IdleTimeout));
                var result = _table.TryAdd(op.Key, entry, _time.GetTimestamp(), out _);
                if (result == FlowTableStatus.Added && entry.IdleTimeoutSeconds != 0)
                    _agingFlows++;
                if (result != FlowTableStatus.Added)
                {
                    _programs.Release(id);
                    status = result == FlowTableStatus.Full ? FlowCompletionStatus.TableFull : FlowCompletionStatus.AlreadyExists;
                    detail = result == FlowTableStatus.Full ? $"software flow table full ({_table.Capacity} flows)" : "flow already installed";
                }
                break;
            }
            case FlowOperationKind.Update:
            {
                if (op.Action.Program is null || !_table.TryLookup(op.Key, out _, out var old))
                {
                    status = op.Action.Program is null ? FlowCompletionStatus.Unsupported : FlowCompletionStatus.NotFound;
                    detail = op.Action.Program is null ? "no action program" : "flow not installed";
                    break;
                }
                int id = _programs.Intern(op.Action.Program);
                var updated = new FastPathEntry(id, op.Action.Nat, op.Connection, op.Direction, IdleSeconds(op.IdleTimeout));
                _table.TryUpdate(op.Key, updated);
                _programs.Release(old.ProgramId);
                _agingFlows += (updated.IdleTimeoutSeconds != 0 ? 1 : 0) - (old.IdleTimeoutSeconds != 0 ? 1 : 0);
                break;
            }
            case FlowOperationKind.Remove:
                if (_table.TryRemove(op.Key, out var removed))
                {
                    _programs.Release(removed.ProgramId);
                    if (removed.IdleTimeoutSeconds != 0)
                        _agingFlows--;
                }
                else
                {
                    status = FlowCompletionStatus.NotFound;
                    detail = "flow not installed";
                }
                break;
        }
        return new FlowCompletion { Kind = op.Kind, Key = op.Key, Cookie = op.Cookie, Status = status, Detail = detail };
    }

    private static uint IdleSeconds(TimeSpan idle) =>
        idle <= TimeSpan.Zero ? 0u : (uint)Math.Clamp(Math.Ceiling(idle.TotalSeconds), 1, uint.MaxValue);

    /// <inheritdoc/>
    public override int PollCompletions(Span<FlowCompletion> completions)
    {
        lock (_gate)
        {
            int n = 0;
            while (n < completions.Length && _completions.TryDequeue(out var c))
                completions[n++] = c;
            if (n < completions.Length && !_disposed && _agingFlows > 0)
                n += ScanAging(completions.Slice(n));
            return n;
        }
    }

    // Reports flows idle past their own timeout, a slice of the table per call, each flow once.
    private int ScanAging(Span<FlowCompletion> output)
    {
        long now = _time.GetTimestamp();
        long frequency = _time.TimestampFrequency;
        int reported = 0;
        int budget = _options.AgingScanSlice;
        while (budget > 0 && reported < output.Length && _table.Count > 0)
        {
            int before = _agingCursor;
            int found = _table.CollectIdle(now, _agingHandles.AsSpan(0, Math.Min(_agingHandles.Length, budget)), ref _agingCursor);
            budget -= _agingHandles.Length;
            for (int i = 0; i < found && reported < output.Length; i++)
            {
                if (!_table.TryGetEntry(_agingHandles[i], out var key, out var entry, out var stats))
                    continue;
                if (entry.IdleTimeoutSeconds == 0 || entry.AgedReported)
                    continue;
                if (now - stats.LastSeenTicks < entry.IdleTimeoutSeconds * frequency)
                    continue;
                _table.TryUpdate(key, entry.WithAgedReported());
                output[reported++] = new FlowCompletion
                {
                    Kind = FlowOperationKind.Remove, Key = key, Status = FlowCompletionStatus.Aged,
                    Detail = $"idle for more than {entry.IdleTimeoutSeconds} s",
                };
            }
            if (_agingCursor <= before)
                break; // wrapped: one full pass per poll at most
        }
        return reported;
    }

    /// <inheritdoc/>
    public override bool TryQueryCounters(in FlowKey key, out FlowStats stats)
    {
        if (_table.TryLookup(key, out int handle, out _) && _table.TryGetEntry(handle, out _, out _, out stats))
            return true;
        stats = default;
        return false;
    }

    // ---- packet path (lock-free readers) ----

    /// <summary>Looks up one flow.</summary>
    public bool TryLookup(in FlowKey key, out int handle, out FastPathEntry entry) => _table.TryLookup(key, out handle, out entry);

    /// <summary>Looks up a batch of flows (handle −1 for a miss); returns the number of hits.</summary>
    public int LookupBatch(ReadOnlySpan<FlowKey> keys, Span<int> handles, Span<FastPathEntry> entries) =>
        _table.LookupBatch(keys, handles, entries);

    /// <summary>Counts a packet for a flow.</summary>
    public void RecordHit(int handle, int bytes, long nowTicks) => _table.RecordHit(handle, bytes, nowTicks);

    /// <summary>The action program of an entry.</summary>
    public ActionProgram? GetProgram(int programId) => _programs.Get(programId);

    /// <summary>A snapshot of every installed flow, for dumps (control plane: allocates).</summary>
    public IReadOnlyList<InstalledFlow> Snapshot()
    {
        var list = new List<InstalledFlow>(_table.Count);
        foreach (var item in _table)
        {
            var program = _programs.Get(item.Value.ProgramId);
            if (program is null)
                continue;
            list.Add(new InstalledFlow(item.Key, new FlowAction(program, item.Value.Nat), item.Value.Connection, item.Value.Direction, item.Stats));
        }
        return list;
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        lock (_gate)
        {
            if (_disposed)
                return;
            _disposed = true;
            _completions.Clear();
        }
        if (disposing)
            _table.Dispose();
        base.Dispose(disposing);
    }
}

/// <summary>One installed flow as a dump shows it.</summary>
/// <param name="Key">The flow's 7-tuple.</param>
/// <param name="Action">Its action.</param>
/// <param name="Connection">Its connection.</param>
/// <param name="Direction">Which direction of the connection.</param>
/// <param name="Stats">Packets, bytes, last seen.</param>
public sealed record InstalledFlow(FlowKey Key, FlowAction Action, ConnectionId Connection, ConnDirection Direction, FlowStats Stats);
