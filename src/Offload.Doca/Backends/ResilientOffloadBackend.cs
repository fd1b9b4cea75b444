using System.Runtime.InteropServices;
using Offload.Actions;
using Offload.Backends;
using Offload.Backends.Software;
using Offload.Conntrack;
using Offload.Flows;
using Polly;
using Polly.CircuitBreaker;

namespace Offload.Doca.Backends;

/// <summary>
/// A flow backend that puts every flow in software first and offloads it to the device, so that a
/// hardware error never loses a connection: a flow the device refuses (unsupported, table full,
/// transient error), or loses (device failure), keeps working in software and is offloaded again later —
/// with exponential backoff after transient errors, after the device recovers, or when the per-device
/// circuit breaker (Polly) closes again. At every point between calls a flow is in exactly one of the
/// two backends; <see cref="GetPlacement"/> says which and why.
/// </summary>
/// <remarks>
/// Caller completions: an add completes when the flow is serving traffic (in software at once), a
/// remove when it is gone from wherever it was. Offloading continues in <see cref="PollCompletions"/>,
/// which the owner calls regularly. DOCA operations cannot be cancelled, so an operation past
/// <see cref="ResilientOffloadOptions.OperationTimeout"/> only counts as a failure for the breaker and is
/// reported as <see cref="NotOffloadedReason.TimedOut"/>; the flow is in software meanwhile.
/// </remarks>
public sealed class ResilientOffloadBackend : FlowBackend
{
    private const long CookieTag = 0x5E00_0000_0000_0000L;

    private readonly object _gate = new();
    private readonly DocaBackend _hardware;
    private readonly SoftwareBackend _software;
    private readonly ResilientOffloadOptions _options;
    private readonly TimeProvider _time;
    private readonly ResiliencePipeline<bool> _breaker;
    private readonly CircuitBreakerStateProvider _breakerState = new();
    private readonly CircuitBreakerManualControl _breakerControl = new();
    private readonly Dictionary<FlowKey, int> _slotOf = new();
    private readonly Stack<int> _freeSlots = new();
    private readonly PriorityQueue<long, long> _retry = new(); // (slot | token << 32) by not-before timestamp
    private readonly Queue<(long Cookie, long SubmittedAt)> _inFlight = new();
    private readonly Queue<FlowCompletion> _ready = new();
    private readonly FlowCompletion[] _buffer = new FlowCompletion[512];
    private Flow[] _flows = new Flow[1024];
    private int _nextSlot;
    private long _nextRecoveryProbe;
    private long _nextBreakerProbe;
    private bool _disposed;

    /// <summary>Composes <paramref name="hardware"/> with <paramref name="software"/>; both become owned by this instance.</summary>
    public ResilientOffloadBackend(DocaBackend hardware, SoftwareBackend software, ResilientOffloadOptions? options = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(hardware);
        ArgumentNullException.ThrowIfNull(software);
        _hardware = hardware;
        _software = software;
        _options = options ?? new ResilientOffloadOptions();
        _options.Validate();
        _time = timeProvider ?? TimeProvider.System;
        var builder = new ResiliencePipelineBuilder<bool> { TimeProvider = _time };
        _breaker = builder.AddCircuitBreaker(new CircuitBreakerStrategyOptions<bool>
        {
            FailureRatio = _options.FailureRatio,
            MinimumThroughput = _options.MinimumThroughput,
            SamplingDuration = _options.SamplingDuration,
            BreakDuration = _options.BreakDuration,
            ShouldHandle = static args => new ValueTask<bool>(args.Outcome.Exception is not null || !args.Outcome.Result),
            StateProvider = _breakerState,
            ManualControl = _breakerControl,
            OnOpened = _ =>
            {
                Interlocked.Increment(ref Statistics.breakerOpenings);
                return default;
            },
        }).Build();
        Capabilities = software.Capabilities with { QueueDepth = _options.QueueDepth };
        _hardware.HealthChanged += OnHardwareHealthChanged;
        _hardware.PortHealthChanged += OnHardwarePortChanged;
    }

    /// <inheritdoc/>
    public override string Name => "resilient(doca+software)";

    /// <inheritdoc/>
    public override BackendCapabilities Capabilities { get; }

    /// <inheritdoc/>
    public override int Count
    {
        get
        {
            lock (_gate)
                return _slotOf.Count;
        }
    }

    /// <summary>The device backend.</summary>
    public DocaBackend Hardware => _hardware;

    /// <summary>The software backend.</summary>
    public SoftwareBackend Software => _software;

    /// <summary>The software part: flows not (yet, or no longer) on the device are served there, and the device's
    /// misses reach it.</summary>
    public override SoftwareBackend? HostTable => _software;

    /// <summary>What has happened so far.</summary>
    public ResilienceStatistics Statistics { get; } = new();

    /// <summary>The state of the per-device circuit breaker.</summary>
    public CircuitState BreakerState => _breakerState.CircuitState;

    /// <summary>Where <paramref name="key"/> is served and why it is not on the device; false for an unknown flow.</summary>
    public bool GetPlacement(in FlowKey key, out FlowPlacementInfo placement)
    {
        lock (_gate)
        {
            if (!_slotOf.TryGetValue(key, out int slot))
            {
                placement = default;
                return false;
            }
            ref Flow f = ref _flows[slot];
            NotOffloadedReason reason = f.Reason;
            // A flow waiting for its retry waits for the breaker first while it is open.
            if (f.Placement == FlowPlacement.Software && f.Pending == HwOp.None
                && reason is NotOffloadedReason.TransientFailure or NotOffloadedReason.TimedOut or NotOffloadedReason.Rejected
                && _breakerState.CircuitState == CircuitState.Open)
                reason = NotOffloadedReason.CircuitOpen;
            placement = new FlowPlacementInfo(f.Placement, reason, f.Detail, f.Attempts);
            return true;
        }
    }

    /// <summary>
    /// Every flow, wherever it is served: its placement and reason as <see cref="GetPlacement"/> gives them, and the
    /// counters of the backend serving it now (a flow that moved keeps only its current holder's). A snapshot for
    /// operators, not for the packet path.
    /// </summary>
    public IReadOnlyList<PlacedFlow> SnapshotFlows()
    {
        var keys = new List<FlowKey>();
        lock (_gate)
        {
            foreach (FlowKey key in _slotOf.Keys)
                keys.Add(key);
        }
        var rows = new List<PlacedFlow>(keys.Count);
        foreach (FlowKey key in keys)
        {
            FlowAction action;
            ConnectionId connection;
            ConnDirection direction;
            FlowPlacementInfo placement;
            lock (_gate)
            {
                if (!_slotOf.TryGetValue(key, out int slot) || !GetPlacement(key, out placement))
                    continue;
                ref Flow f = ref _flows[slot];
                (action, connection, direction) = (f.Action, f.Connection, f.Direction);
            }
            // Counters are read outside the gate: the device backend takes its own lock.
            FlowBackend holder = placement.Placement == FlowPlacement.Hardware ? _hardware : _software;
            if (!holder.TryQueryCounters(key, out FlowStats stats))
                stats = default;
            rows.Add(new PlacedFlow(new InstalledFlow(key, action, connection, direction, stats), placement));
        }
        return rows;
    }

    /// <inheritdoc/>
    public override SubmitStatus TrySubmit(in FlowOperation operation)
    {
        lock (_gate)
        {
            if (_disposed)
                return SubmitStatus.Unavailable;
            if (_ready.Count >= _options.QueueDepth)
                return SubmitStatus.QueueFull;
            switch (operation.Kind)
            {
                case FlowOperationKind.Add:
                    Add(operation);
                    break;
                case FlowOperationKind.Update:
                    Update(operation);
                    break;
                default:
                    Remove(operation);
                    break;
            }
            return SubmitStatus.Accepted;
        }
    }

    private void Answer(in FlowOperation op, FlowCompletionStatus status, string? detail = null) =>
        _ready.Enqueue(new FlowCompletion { Kind = op.Kind, Key = op.Key, Cookie = op.Cookie, Status = status, Detail = detail });

    private void Add(in FlowOperation op)
    {
        if (_slotOf.ContainsKey(op.Key))
        {
            Answer(op, FlowCompletionStatus.AlreadyExists, "flow already installed");
            return;
        }
        if (op.Action.Program is null)
        {
            Answer(op, FlowCompletionStatus.Unsupported, "no action program");
            return;
        }
        // Every flow must fit in software should the device fail, so software's capacity is the limit.
        if (_slotOf.Count >= Capabilities.MaxFlows)
        {
            Answer(op, FlowCompletionStatus.TableFull, $"{Name} full ({Capabilities.MaxFlows} flows, the software capacity every flow must fit in)");
            return;
        }
        // Software first: the connection works from now on, whatever the device does.
        FlowCompletion sw = SoftwareApply(op with { Cookie = 0 });
        if (sw.Status != FlowCompletionStatus.Success)
        {
            Answer(op, sw.Status, sw.Detail);
            return;
        }
        int slot = AllocateSlot();
        _flows[slot] = new Flow
        {
            Live = true, Key = op.Key, Action = op.Action, Connection = op.Connection, Direction = op.Direction, IdleTimeout = op.IdleTimeout,
            Placement = FlowPlacement.Software, Reason = NotOffloadedReason.Pending, Version = _flows[slot].Version + 1,
        };
        _slotOf.Add(op.Key, slot);
        Answer(op, FlowCompletionStatus.Success);
        TryOffload(slot, _time.GetTimestamp());
    }

    private void Update(in FlowOperation op)
    {
        if (!_slotOf.TryGetValue(op.Key, out int slot) || _flows[slot].UserRemoving)
        {
            Answer(op, FlowCompletionStatus.NotFound, "flow not installed");
            return;
        }
        if (op.Action.Program is null)
        {
            Answer(op, FlowCompletionStatus.Unsupported, "no action program");
            return;
        }
        ref Flow f = ref _flows[slot];
        f.Action = op.Action;
        f.IdleTimeout = op.IdleTimeout;
        f.Connection = op.Connection;
        f.Direction = op.Direction;
        if (f.Placement == FlowPlacement.Software)
        {
            SoftwareApply(FlowOperation.Update(f.Key, f.Action, f.Connection, f.Direction, f.IdleTimeout));
            if (f.Pending == HwOp.Add)
                f.Dirty = true; // the device gets the new action once its add completes
            else if (f.Reason == NotOffloadedReason.Unsupported && _hardware.GetUnsupportedReason(f.Key, f.Action) is null)
            {
                f.Reason = NotOffloadedReason.Pending;
                f.Detail = null;
                ScheduleRetry(slot, _time.GetTimestamp());
            }
        }
        else if (f.Pending != HwOp.None)
        {
            f.Dirty = true;
        }
        else
        {
            SubmitHardwareUpdate(slot);
        }
        Answer(op, FlowCompletionStatus.Success);
    }

    private void Remove(in FlowOperation op)
    {
        if (!_slotOf.TryGetValue(op.Key, out int slot) || _flows[slot].UserRemoving)
        {
            Answer(op, FlowCompletionStatus.NotFound, "flow not installed");
            return;
        }
        ref Flow f = ref _flows[slot];
        f.UserRemoving = true;
        f.RemoveCookie = op.Cookie;
        if (f.Placement == FlowPlacement.Software)
        {
            SoftwareApply(FlowOperation.Remove(f.Key));
            f.Placement = FlowPlacement.Hardware; // nothing in software any more; the device may still get the pending add
            if (f.Pending == HwOp.None)
                Finish(slot);
            else
                f.Gone = true;
            return;
        }
        if (f.Pending == HwOp.None)
            SubmitHardwareRemove(slot);
    }

    // The caller's remove is done: the flow is in neither backend.
    private void Finish(int slot)
    {
        ref Flow f = ref _flows[slot];
        _ready.Enqueue(new FlowCompletion { Kind = FlowOperationKind.Remove, Key = f.Key, Cookie = f.RemoveCookie, Status = FlowCompletionStatus.Success });
        _slotOf.Remove(f.Key);
        int version = f.Version;
        f = default;
        f.Version = version;
        _freeSlots.Push(slot);
    }

    private int AllocateSlot()
    {
        if (_freeSlots.Count > 0)
            return _freeSlots.Pop();
        if (_nextSlot == _flows.Length)
            Array.Resize(ref _flows, _flows.Length * 2);
        return _nextSlot++;
    }

    private long CookieOf(int slot) => CookieTag | ((long)(_flows[slot].Version & 0xFFFFFF) << 32) | (uint)slot;

    private bool TryResolve(long cookie, out int slot)
    {
        slot = (int)(uint)cookie;
        return (cookie & CookieTag) == CookieTag && (uint)slot < (uint)_nextSlot && _flows[slot].Live
            && ((cookie >> 32) & 0xFFFFFF) == (_flows[slot].Version & 0xFFFFFF);
    }

    // Returns false when the device pushed back (stop offloading for this poll).
    private bool TryOffload(int slot, long now)
    {
        ref Flow f = ref _flows[slot];
        if (_hardware.GetUnsupportedReason(f.Key, f.Action) is string reason)
        {
            if (f.Reason != NotOffloadedReason.Unsupported)
                Interlocked.Increment(ref Statistics.unsupported);
            f.Reason = NotOffloadedReason.Unsupported;
            f.Detail = reason;
            return true;
        }
        if (_hardware.Health == BackendHealth.Failed)
        {
            f.Reason = NotOffloadedReason.DeviceFailed;
            ScheduleRetry(slot, now);
            return false;
        }
        if (_hardware.IsPortFailed(f.Key.InPort))
        {
            // Only its port is down: the port's recovery reschedules it; other flows go on being offloaded.
            f.Reason = NotOffloadedReason.DeviceFailed;
            ScheduleRetry(slot, now + (long)(_options.RecoveryProbeInterval.TotalSeconds * _time.TimestampFrequency));
            return true;
        }
        if (!BreakerAllows())
        {
            f.Reason = NotOffloadedReason.CircuitOpen;
            ScheduleRetry(slot, now);
            return false;
        }
        var status = _hardware.TrySubmit(FlowOperation.Add(f.Key, f.Action, f.Connection, f.Direction, f.IdleTimeout, CookieOf(slot)));
        return Submitted(slot, status, HwOp.Add, now);
    }

    private void SubmitHardwareUpdate(int slot)
    {
        ref Flow f = ref _flows[slot];
        f.Dirty = false;
        var status = _hardware.TrySubmit(FlowOperation.Update(f.Key, f.Action, f.Connection, f.Direction, f.IdleTimeout, CookieOf(slot)));
        if (!Submitted(slot, status, HwOp.Update, _time.GetTimestamp()))
            f.Dirty = true;
    }

    private void SubmitHardwareRemove(int slot)
    {
        var status = _hardware.TrySubmit(FlowOperation.Remove(_flows[slot].Key, CookieOf(slot)));
        Submitted(slot, status, HwOp.Remove, _time.GetTimestamp());
    }

    private bool Submitted(int slot, SubmitStatus status, HwOp op, long now)
    {
        ref Flow f = ref _flows[slot];
        switch (status)
        {
            case SubmitStatus.Accepted:
                f.Pending = op;
                if (op == HwOp.Add)
                    f.Reason = NotOffloadedReason.Pending;
                _inFlight.Enqueue((CookieOf(slot), now));
                return true;
            case SubmitStatus.QueueFull:
                ScheduleRetry(slot, now);
                return false;
            default:
                // Unavailable: the device failed during this call; the health handler moved what it held.
                if (f.Placement == FlowPlacement.Software || f.UserRemoving)
                    f.Reason = NotOffloadedReason.DeviceFailed;
                if (f.UserRemoving && f.Placement == FlowPlacement.Hardware && f.Pending == HwOp.None)
                    Finish(slot);
                else
                    ScheduleRetry(slot, now);
                return false;
        }
    }

    private void ScheduleRetry(int slot, long notBefore)
    {
        ref Flow f = ref _flows[slot];
        f.RetryToken++;
        _retry.Enqueue(((long)f.RetryToken << 32) | (uint)slot, notBefore);
    }

    private long Backoff(int attempts)
    {
        double ms = _options.RetryBaseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempts - 1, 30));
        ms = Math.Min(ms, _options.RetryMaxDelay.TotalMilliseconds);
        return (long)(ms * _time.TimestampFrequency / 1000);
    }

    private bool BreakerAllows()
    {
        var state = _breakerState.CircuitState;
        return state is CircuitState.Closed or CircuitState.HalfOpen;
    }

    private void RecordOutcome(bool ok)
    {
        if (!BreakerAllows())
            return;
        try
        {
            _breaker.Execute(static ok => ok, ok);
        }
        catch (BrokenCircuitException)
        {
            // Opened by a concurrent outcome between the check and the call: nothing to record.
        }
    }

    // Software operations complete on submission; their answer is read back at once.
    private FlowCompletion SoftwareApply(in FlowOperation op)
    {
        var status = _software.TrySubmit(op);
        if (status == SubmitStatus.QueueFull)
        {
            DrainSoftware(default);
            status = _software.TrySubmit(op);
        }
        if (status != SubmitStatus.Accepted)
            return new FlowCompletion { Kind = op.Kind, Key = op.Key, Status = FlowCompletionStatus.Failed, Detail = "software backend " + status };
        FlowCompletion answer = default;
        DrainSoftware(op.Key, ref answer);
        return answer;
    }

    private void DrainSoftware(in FlowKey key)
    {
        FlowCompletion ignored = default;
        DrainSoftware(key, ref ignored);
    }

    private void DrainSoftware(in FlowKey key, ref FlowCompletion answer)
    {
        int n;
        do
        {
            n = _software.PollCompletions(_buffer);
            for (int i = 0; i < n; i++)
            {
                if (_buffer[i].Status == FlowCompletionStatus.Aged)
                    ForwardAged(_buffer[i], FlowPlacement.Software);
                else if (_buffer[i].Key == key)
                    answer = _buffer[i];
            }
        }
        while (n == _buffer.Length);
    }

    private void ForwardAged(in FlowCompletion aged, FlowPlacement from)
    {
        if (_slotOf.TryGetValue(aged.Key, out int slot) && _flows[slot].Placement == from && !_flows[slot].UserRemoving)
            _ready.Enqueue(aged);
    }

    /// <inheritdoc/>
    public override int PollCompletions(Span<FlowCompletion> completions)
    {
        lock (_gate)
        {
            if (!_disposed)
            {
                long now = _time.GetTimestamp();
                DrainHardware();
                DrainSoftware(default);
                CheckTimeouts(now);
                Reoffload(now);
            }
            int n = 0;
            while (n < completions.Length && _ready.TryDequeue(out var c))
                completions[n++] = c;
            return n;
        }
    }

    private void DrainHardware()
    {
        int n;
        do
        {
            n = _hardware.PollCompletions(_buffer);
            for (int i = 0; i < n; i++)
                OnHardwareCompletion(_buffer[i]);
        }
        while (n == _buffer.Length);
    }

    private void OnHardwareCompletion(in FlowCompletion c)
    {
        if (c.Status == FlowCompletionStatus.Aged)
        {
            ForwardAged(c, FlowPlacement.Hardware);
            return;
        }
        if (!TryResolve(c.Cookie, out int slot))
            return;
        ref Flow f = ref _flows[slot];
        HwOp op = f.Pending;
        f.Pending = HwOp.None;
        bool ok = c.Status == FlowCompletionStatus.Success;
        bool deviceFailed = !ok && (_hardware.Health == BackendHealth.Failed || _hardware.IsPortFailed(f.Key.InPort));
        if (!deviceFailed)
            RecordOutcome(ok || c.Status is FlowCompletionStatus.Unsupported or FlowCompletionStatus.TableFull);
        long now = _time.GetTimestamp();
        switch (op)
        {
            case HwOp.Add:
                if (ok)
                {
                    if (f.Gone)
                    {
                        // Removed by the caller while the add was in flight: take it off the device too.
                        SubmitHardwareRemove(slot);
                        return;
                    }
                    SoftwareApply(FlowOperation.Remove(f.Key));
                    Interlocked.Increment(ref f.Attempts > 0 || f.WasInHardware ? ref Statistics.reoffloaded : ref Statistics.offloaded);
                    f.Placement = FlowPlacement.Hardware;
                    f.Reason = NotOffloadedReason.None;
                    f.Detail = null;
                    f.Attempts = 0;
                    f.WasInHardware = true;
                    if (f.Dirty)
                        SubmitHardwareUpdate(slot);
                    return;
                }
                if (f.Gone)
                {
                    Finish(slot);
                    return;
                }
                Refused(slot, c, deviceFailed, now);
                return;
            case HwOp.Update:
                if (f.Placement == FlowPlacement.Software)
                {
                    // The device failed meanwhile and the flow moved to software: re-offload it with its current action.
                    f.Dirty = false;
                    ScheduleRetry(slot, now);
                    return;
                }
                if (f.UserRemoving)
                    SubmitHardwareRemove(slot);
                else if (!ok || f.Dirty)
                {
                    // The device keeps the previous action until an update succeeds.
                    f.Dirty = true;
                    f.Attempts++;
                    ScheduleRetry(slot, now + Backoff(f.Attempts));
                }
                return;
            case HwOp.Remove:
                if (ok || deviceFailed || f.Placement == FlowPlacement.Software)
                {
                    Finish(slot);
                    return;
                }
                f.Attempts++;
                ScheduleRetry(slot, now + Backoff(f.Attempts));
                return;
        }
    }

    private void Refused(int slot, in FlowCompletion c, bool deviceFailed, long now)
    {
        ref Flow f = ref _flows[slot];
        f.Detail = c.Detail;
        f.Attempts++;
        if (deviceFailed)
        {
            f.Reason = NotOffloadedReason.DeviceFailed;
            ScheduleRetry(slot, now);
            return;
        }
        switch (c.Status)
        {
            case FlowCompletionStatus.Unsupported:
                Interlocked.Increment(ref Statistics.unsupported);
                f.Reason = NotOffloadedReason.Unsupported;
                return; // permanent: only an update to an expressible action tries again
            case FlowCompletionStatus.TableFull:
                Interlocked.Increment(ref Statistics.capacitySpills);
                f.Reason = NotOffloadedReason.TableFull;
                ScheduleRetry(slot, now + Backoff(f.Attempts));
                return;
            default:
                if (c.IsTransient)
                {
                    Interlocked.Increment(ref Statistics.transientFailures);
                    Interlocked.Increment(ref c.ErrorCode != 0 ? ref Statistics.submitFailures : ref Statistics.errorCompletions);
                }
                f.Reason = c.IsTransient ? NotOffloadedReason.TransientFailure : NotOffloadedReason.Rejected;
                ScheduleRetry(slot, now + Backoff(f.Attempts));
                return;
        }
    }

    // Runs inside a hardware call made under _gate: every flow the device held is served in software again.
    private void OnHardwareHealthChanged(object? sender, BackendHealthChangedEventArgs e)
    {
        if (e.Current != BackendHealth.Failed)
        {
            SetHealth(e.Current == BackendHealth.Healthy ? BackendHealth.Healthy : BackendHealth.Degraded, "device: " + e.Reason);
            return;
        }
        lock (_gate)
        {
            Interlocked.Increment(ref Statistics.deviceFailures);
            _breakerControl.IsolateAsync().GetAwaiter().GetResult();
            long now = _time.GetTimestamp();
            _nextRecoveryProbe = now + (long)(_options.RecoveryProbeInterval.TotalSeconds * _time.TimestampFrequency);
            for (int slot = 0; slot < _nextSlot; slot++)
                MoveToSoftware(slot, e.Reason, now);
            SetHealth(BackendHealth.Degraded, "device failed, flows served in software: " + e.Reason);
        }
    }

    // Runs inside a hardware call made under _gate: one port of the device failed (its flows move to software) or
    // answers again (its flows are offloaded again now rather than at their next scheduled retry).
    private void OnHardwarePortChanged(object? sender, DocaPortHealthChangedEventArgs e)
    {
        lock (_gate)
        {
            long now = _time.GetTimestamp();
            for (int slot = 0; slot < _nextSlot; slot++)
            {
                ref Flow f = ref _flows[slot];
                if (!f.Live || f.Key.InPort != e.Port)
                    continue;
                if (e.Failed)
                {
                    MoveToSoftware(slot, e.Reason, now);
                }
                else if (f.Placement == FlowPlacement.Software && f.Pending == HwOp.None && !f.UserRemoving
                    && f.Reason == NotOffloadedReason.DeviceFailed)
                {
                    ScheduleRetry(slot, now);
                }
            }
            if (e.Failed)
                Interlocked.Increment(ref Statistics.portFailures);
        }
    }

    // A flow the device lost: served in software from now on, offloaded again later.
    private void MoveToSoftware(int slot, string reason, long now)
    {
        ref Flow f = ref _flows[slot];
        if (!f.Live || f.Placement != FlowPlacement.Hardware)
            return;
        if (f.UserRemoving)
        {
            // On its way out anyway; its pending operation's failure finishes it.
            if (f.Pending == HwOp.None)
                Finish(slot);
            return;
        }
        FlowCompletion sw = SoftwareApply(FlowOperation.Add(f.Key, f.Action, f.Connection, f.Direction, f.IdleTimeout));
        if (sw.Status != FlowCompletionStatus.Success)
            Interlocked.Increment(ref Statistics.lost);
        Interlocked.Increment(ref Statistics.flowsMovedToSoftware);
        f.Placement = FlowPlacement.Software;
        f.Reason = NotOffloadedReason.DeviceFailed;
        f.Detail = reason;
        if (f.Pending == HwOp.None)
            ScheduleRetry(slot, now);
        // else: the pending operation's failed completion schedules the retry
        if (f.Pending == HwOp.Update)
            f.Dirty = false;
    }

    private void CheckTimeouts(long now)
    {
        long limit = (long)(_options.OperationTimeout.TotalSeconds * _time.TimestampFrequency);
        while (_inFlight.TryPeek(out var head))
        {
            bool stillPending = TryResolve(head.Cookie, out int slot) && _flows[slot].Pending != HwOp.None;
            if (stillPending && now - head.SubmittedAt < limit)
                break;
            _inFlight.Dequeue();
            if (!stillPending || _hardware.Health == BackendHealth.Failed)
                continue;
            Interlocked.Increment(ref Statistics.timeouts);
            RecordOutcome(false);
            if (_flows[slot].Placement == FlowPlacement.Software)
                _flows[slot].Reason = NotOffloadedReason.TimedOut;
        }
    }

    private void Reoffload(long now)
    {
        if (_hardware.Health == BackendHealth.Failed)
        {
            if (now < _nextRecoveryProbe)
                return;
            _nextRecoveryProbe = now + (long)(_options.RecoveryProbeInterval.TotalSeconds * _time.TimestampFrequency);
            if (!_hardware.TryRecover())
                return;
            Interlocked.Increment(ref Statistics.recoveries);
            _breakerControl.CloseAsync().GetAwaiter().GetResult();
            SetHealth(BackendHealth.Healthy, "device recovered");
        }
        if (_breakerState.CircuitState == CircuitState.Open && !ProbeBreaker(now))
            return;
        int budget = _options.ReoffloadPerPoll;
        while (budget > 0 && _retry.TryPeek(out long item, out long notBefore) && notBefore <= now)
        {
            int slot = (int)(uint)item;
            ref Flow f = ref _flows[slot];
            if (!f.Live || f.RetryToken != (int)(item >> 32) || f.Pending != HwOp.None)
            {
                _retry.Dequeue();
                continue;
            }
            if (_hardware.Health == BackendHealth.Failed || !BreakerAllows())
                return;
            _retry.Dequeue();
            budget--;
            bool more;
            if (f.UserRemoving)
            {
                SubmitHardwareRemove(slot);
                more = f.Pending != HwOp.None;
            }
            else if (f.Placement == FlowPlacement.Hardware)
            {
                SubmitHardwareUpdate(slot);
                more = f.Pending != HwOp.None;
            }
            else if (f.Reason != NotOffloadedReason.Unsupported)
            {
                more = TryOffload(slot, now);
            }
            else
            {
                more = true;
            }
            if (!more)
                return;
        }
    }

    // An open breaker lets one probe through after its break: the device's health decides.
    private bool ProbeBreaker(long now)
    {
        if (now < _nextBreakerProbe)
            return false;
        _nextBreakerProbe = now + (long)(_options.RecoveryProbeInterval.TotalSeconds * _time.TimestampFrequency);
        try
        {
            return _breaker.Execute(static h => h.Health != BackendHealth.Failed, _hardware);
        }
        catch (BrokenCircuitException)
        {
            return false; // still open (or isolated): not yet time for a probe
        }
    }

    /// <inheritdoc/>
    public override bool TryQueryCounters(in FlowKey key, out FlowStats stats)
    {
        FlowPlacement placement;
        lock (_gate)
        {
            if (!_slotOf.TryGetValue(key, out int slot))
            {
                stats = default;
                return false;
            }
            placement = _flows[slot].Placement;
        }
        return placement == FlowPlacement.Hardware ? _hardware.TryQueryCounters(key, out stats) : _software.TryQueryCounters(key, out stats);
    }

    /// <inheritdoc/>
    public override string? GetUnsupportedReason(in FlowKey key, in FlowAction action) => _software.GetUnsupportedReason(key, action);

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        lock (_gate)
        {
            if (_disposed)
                return;
            _disposed = true;
            _ready.Clear();
        }
        if (disposing)
        {
            _hardware.HealthChanged -= OnHardwareHealthChanged;
            _hardware.PortHealthChanged -= OnHardwarePortChanged;
            _hardware.Dispose();
            _software.Dispose();
        }
        base.Dispose(disposing);
    }

    private enum HwOp : byte
    {
        None,
        Add,
        Update,
        Remove,
    }

    [StructLayout(LayoutKind.Auto)]
    private struct Flow
    {
        public FlowKey Key;
        public FlowAction Action;
        public string? Detail;
        public TimeSpan IdleTimeout;
        public long RemoveCookie;
        public ConnectionId Connection;
        public int Version;
        public int RetryToken;
        public int Attempts;
        public ConnDirection Direction;
        public FlowPlacement Placement;
        public NotOffloadedReason Reason;
        public HwOp Pending;
        public bool Live;
        public bool Dirty;
        public bool UserRemoving;
        public bool Gone;
        public bool WasInHardware;
    }
}
