using System.Runtime.InteropServices;
using Offload.Actions;
using Offload.Backends;
using Offload.Conntrack;
using Offload.Doca.Flow;
using Offload.Flows;
using Offload.Packets;

namespace Offload.Doca.Backends;

/// <summary>
/// The fast-path contract on a SmartNIC through DOCA Flow: one root pipe per ingress port keyed on the
/// 5-tuple (plus the tunnel VNI on uplinks), entries submitted per queue with WAIT_FOR_BATCH and pushed
/// every <see cref="DocaBackendOptions.SubmitBatch"/> submissions or at the next poll.
/// </summary>
/// <remarks>
/// Completions are driven by the caller: <see cref="PollCompletions"/> runs
/// <c>doca_flow_entries_process</c> and <c>doca_flow_aging_handle</c> on the polling thread, which is
/// where DOCA delivers its callbacks. DOCA allows one initialisation per process, so one instance is
/// live at a time. A device-fatal error fails every pending operation, forgets every entry (the device
/// lost them) and sets <see cref="BackendHealth.Failed"/>; <see cref="TryRecover"/> brings it back.
/// </remarks>
public sealed partial class DocaBackend : FlowBackend
{
    private readonly object _gate = new();
    private readonly DocaBackendOptions _options;
    private readonly DocaFlow _flow;
    private readonly DocaPort[] _ports;
    private readonly DocaPipe[] _pipes;
    private readonly Queue<PendingOp>[] _fifos; // per (port, queue): DOCA completes each in submission order
    private readonly int[] _staged;
    private readonly Queue<FlowCompletion> _ready = new();
    private readonly Dictionary<FlowKey, int> _slotOf = new();
    private readonly List<int> _deferredReleases = new();
    private Slot[] _slots = new Slot[256];
    private readonly Stack<int> _freeSlots = new();
    private int _nextSlot;
    private int _installed;
    private int _reserved; // adds in flight + installed: what the pipes hold or will hold
    private int _agingFlows;
    private int _drainingPort;
    private long _submitErrors;
    private long _errorCompletions;
    private bool _disposed;

    /// <summary>Initialises DOCA Flow, starts the ingress ports and creates their root pipes.</summary>
    /// <exception cref="PlatformNotSupportedException">DOCA (or the emulator) and the shim cannot be loaded.</exception>
    /// <exception cref="DocaException">DOCA refused the configuration.</exception>
    public DocaBackend(DocaBackendOptions? options = null)
    {
        _options = options ?? new DocaBackendOptions();
        _options.Validate();
        var ports = _options.Ports;
        _flow = DocaFlow.Initialize(new DocaFlowOptions
        {
            PipeQueues = _options.Queues, QueueDepth = (uint)_options.QueueDepth,
            ConnectionTrackingEntries = _options.ConnectionTracking ? (uint)_options.ConnectionTrackingEntries : 0,
        }, new Sink(this));
        _ports = new DocaPort[ports.Count];
        _pipes = new DocaPipe[ports.Count];
        _portFailed = new bool[ports.Count];
        try
        {
            for (int i = 0; i < ports.Count; i++)
                _ports[i] = _flow.StartPort(ports[i].Port);
            _ctPipe = _options.ConnectionTracking ? CreateConnectionPipe(_ports[0]) : null;
            for (int i = 0; i < ports.Count; i++)
            {
                _pipes[i] = _ports[i].CreatePipe(new DocaPipeSpec
                {
                    Name = "offload-in" + ports[i].Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    IsRoot = true,
                    Entries = (uint)_options.MaxFlows,
                    MatchFields = ports[i].NetworkVni is null ? DocaMatchFields.FiveTupleAndVni : DocaMatchFields.FiveTuple,
                    // Packets no flow entry matches try the connections (Flow CT) next, when configured.
                    MissFate = _ctPipe is null ? DocaFate.Software : DocaFate.Pipe,
                    MissPipe = _ctPipe,
                });
            }
        }
        catch
        {
            ReleaseNative();
            throw;
        }
        _fifos = new Queue<PendingOp>[ports.Count * _options.Queues];
        for (int i = 0; i < _fifos.Length; i++)
            _fifos[i] = new Queue<PendingOp>();
        _staged = new int[_fifos.Length];
        _ctFifos = new Queue<CtPending>[_options.Queues];
        for (int i = 0; i < _ctFifos.Length; i++)
            _ctFifos[i] = new Queue<CtPending>();
        Capabilities = new BackendCapabilities(_options.MaxFlows, _options.QueueDepth,
            MatchCapabilities.IPv4 | MatchCapabilities.IPv6 | MatchCapabilities.Icmp | MatchCapabilities.PortAndVni,
            ActionCapabilities.Output | ActionCapabilities.Drop | ActionCapabilities.SetMac | ActionCapabilities.Nat
                | ActionCapabilities.DecrementTtl | ActionCapabilities.VxlanEncap | ActionCapabilities.GreEncap | ActionCapabilities.Decap,
            SupportsConntrack: _ctPipe is not null, SupportsAging: true, SupportsCounters: true);
    }

    /// <inheritdoc/>
    public override string Name => "doca";

    /// <inheritdoc/>
    public override BackendCapabilities Capabilities { get; }

    /// <inheritdoc/>
    public override int Count => Volatile.Read(ref _installed);

    /// <summary>Submissions DOCA refused with an error other than back-pressure (AGAIN), internal releases included.</summary>
    public long SubmitErrors => Interlocked.Read(ref _submitErrors);

    /// <summary>Operations DOCA accepted and then completed with an error.</summary>
    public long ErrorCompletions => Interlocked.Read(ref _errorCompletions);

    /// <summary>The entry API generation of the loaded DOCA Flow.</summary>
    public static DocaApiGeneration Generation => DocaLibrary.Generation;

    /// <summary>True when the flow's add has completed and its entry is matching packets on the device.</summary>
    public bool IsInstalled(in FlowKey key)
    {
        lock (_gate)
            return (_slotOf.TryGetValue(key, out int s) && _slots[s].Installed) || IsConnectionInstalled(key);
    }

    /// <inheritdoc/>
    public override string? GetUnsupportedReason(in FlowKey key, in FlowAction action)
    {
        string? reason = base.GetUnsupportedReason(key, action);
        if (reason is not null)
            return reason;
        if (PortIndexOf(key, out reason) < 0)
            return reason;
        return DocaActionTranslator.TryTranslate(key, action, out _);
    }

    private int PortIndexOf(in FlowKey key, out string? reason)
    {
        var ports = _options.Ports;
        for (int i = 0; i < ports.Count; i++)
        {
            if (ports[i].Port != key.InPort)
                continue;
            if (ports[i].NetworkVni is uint vni && vni != key.Vni)
            {
                reason = $"doca port {key.InPort} carries VNI {vni} only, not {key.Vni}";
                return -1;
            }
            reason = null;
            return i;
        }
        reason = $"doca has no pipe for ingress port {key.InPort}";
        return -1;
    }

    /// <inheritdoc/>
    public override SubmitStatus TrySubmit(in FlowOperation operation)
    {
        lock (_gate)
        {
            if (_disposed || Health == BackendHealth.Failed)
                return SubmitStatus.Unavailable;
            if (_ready.Count >= _options.QueueDepth)
                return SubmitStatus.QueueFull;
            if (_ctPipe is not null && TrySubmitConnection(operation, out SubmitStatus connectionStatus))
                return connectionStatus;
            return operation.Kind switch
            {
                FlowOperationKind.Add => SubmitAdd(operation),
                FlowOperationKind.Update => SubmitUpdate(operation),
                _ => SubmitRemove(operation),
            };
        }
    }

    private SubmitStatus SubmitAdd(in FlowOperation op)
    {
        if (_slotOf.ContainsKey(op.Key))
            return Answer(op, FlowCompletionStatus.AlreadyExists, "flow already installed");
        if (op.Action.Program is null)
            return Answer(op, FlowCompletionStatus.Unsupported, "no action program");
        if (GetUnsupportedReason(op.Key, op.Action) is string reason)
            return Answer(op, FlowCompletionStatus.Unsupported, reason);
        if (_reserved >= _options.MaxFlows)
            return Answer(op, FlowCompletionStatus.TableFull, $"doca flow table full ({_options.MaxFlows} flows)");
        int port = PortIndexOf(op.Key, out _);
        if (_portFailed[port])
            return PortFailedAnswer(op, port);
        ushort queue = QueueOf(op.Key);
        int f = port * _options.Queues + queue;
        if (_fifos[f].Count >= _options.QueueDepth)
            return SubmitStatus.QueueFull;
        DocaEntrySpec spec = SpecOf(op, port);
        int slot = AllocateSlot();
        DocaError rc = _pipes[port].TryAdd(queue, spec, slot, out DocaEntry entry, Batch(f));
        if (rc != DocaError.Success)
        {
            _freeSlots.Push(slot);
            return Rejected(op, rc, "doca_flow_pipe_add_entry", port);
        }
        _slots[slot] = new Slot
        {
            Key = op.Key, Action = op.Action, Connection = op.Connection, Direction = op.Direction, Entry = entry, Port = (byte)port, Queue = queue,
            AgingSeconds = spec.AgingSeconds,
        };
        _slotOf.Add(op.Key, slot);
        _reserved++;
        if (spec.AgingSeconds != 0)
            _agingFlows++;
        _fifos[f].Enqueue(new PendingOp(FlowOperationKind.Add, op.Cookie, slot, Internal: false));
        return SubmitStatus.Accepted;
    }

    private SubmitStatus SubmitUpdate(in FlowOperation op)
    {
        if (!_slotOf.TryGetValue(op.Key, out int slot) || _slots[slot].Removing)
            return Answer(op, FlowCompletionStatus.NotFound, "flow not installed");
        if (op.Action.Program is null)
            return Answer(op, FlowCompletionStatus.Unsupported, "no action program");
        if (GetUnsupportedReason(op.Key, op.Action) is string reason)
            return Answer(op, FlowCompletionStatus.Unsupported, reason);
        ref Slot s = ref _slots[slot];
        int f = s.Port * _options.Queues + s.Queue;
        if (_fifos[f].Count >= _options.QueueDepth)
            return SubmitStatus.QueueFull;
        DocaEntrySpec spec = SpecOf(op, s.Port);
        DocaError rc = _pipes[s.Port].TryUpdate(s.Queue, s.Entry, spec, Batch(f));
        if (rc != DocaError.Success)
            return Rejected(op, rc, "doca_flow_pipe_update_entry", s.Port);
        _agingFlows += (spec.AgingSeconds != 0 ? 1 : 0) - (s.AgingSeconds != 0 ? 1 : 0);
        s.AgingSeconds = spec.AgingSeconds;
        s.Action = op.Action;
        _fifos[f].Enqueue(new PendingOp(FlowOperationKind.Update, op.Cookie, slot, Internal: false));
        return SubmitStatus.Accepted;
    }

    private SubmitStatus SubmitRemove(in FlowOperation op)
    {
        if (!_slotOf.TryGetValue(op.Key, out int slot) || _slots[slot].Removing)
            return Answer(op, FlowCompletionStatus.NotFound, "flow not installed");
        ref Slot s = ref _slots[slot];
        int f = s.Port * _options.Queues + s.Queue;
        if (_fifos[f].Count >= _options.QueueDepth)
            return SubmitStatus.QueueFull;
        DocaError rc = DocaPipe.TryRemove(s.Queue, s.Entry, Batch(f));
        if (rc != DocaError.Success)
            return Rejected(op, rc, "doca_flow_pipe_remove_entry", s.Port);
        s.Removing = true;
        _fifos[f].Enqueue(new PendingOp(FlowOperationKind.Remove, op.Cookie, slot, Internal: false));
        return SubmitStatus.Accepted;
    }

    private DocaEntrySpec SpecOf(in FlowOperation op, int port)
    {
        DocaActionTranslator.TryTranslate(op.Key, op.Action, out DocaFlowAction action);
        FlowKey k = op.Key;
        // A VM-facing port's VNI is implied by the port: the packet carries none, so the entry matches VNI 0.
        uint vni = _options.Ports[port].NetworkVni is null ? k.Vni : 0;
        var match = new DocaFlowTuple(k.SrcIp, k.DstIp, k.SrcPort, k.DstPort, k.Protocol, vni);
        uint aging = op.IdleTimeout <= TimeSpan.Zero ? 0u : (uint)Math.Clamp(Math.Ceiling(op.IdleTimeout.TotalSeconds), 1, uint.MaxValue);
        return new DocaEntrySpec(match, action, Count: true, AgingSeconds: aging);
    }

    private ushort QueueOf(in FlowKey key) =>
        _options.Queues == 1 ? (ushort)0 : (ushort)(FlowHash.SymmetricHash(key) % _options.Queues);

    private bool Batch(int fifo)
    {
        if (++_staged[fifo] < _options.SubmitBatch)
            return true;
        _staged[fifo] = 0;
        return false;
    }

    private int AllocateSlot()
    {
        if (_freeSlots.Count > 0)
            return _freeSlots.Pop();
        if (_nextSlot == _slots.Length)
            Array.Resize(ref _slots, _slots.Length * 2);
        return _nextSlot++;
    }

    private void FreeSlot(int slot)
    {
        if (_slots[slot].AgingSeconds != 0)
            _agingFlows--;
        _slots[slot] = default;
        _freeSlots.Push(slot);
    }

    private SubmitStatus Answer(in FlowOperation op, FlowCompletionStatus status, string detail, int errorCode = 0, bool transient = false)
    {
        _ready.Enqueue(new FlowCompletion
        {
            Kind = op.Kind, Key = op.Key, Cookie = op.Cookie, Status = status, Detail = detail, ErrorCode = errorCode, IsTransient = transient,
        });
        return SubmitStatus.Accepted;
    }

    // A submission DOCA refused synchronously: back-pressure, spill, device failure or a failed completion.
    // port: the index of the ingress port the call was for, -1 when it concerns the whole device.
    private SubmitStatus Rejected(in FlowOperation op, DocaError rc, string call, int port = -1)
    {
        if (rc == DocaError.Again)
            return SubmitStatus.QueueFull;
        Interlocked.Increment(ref _submitErrors);
        string detail = $"{call}: {rc}";
        if (rc.IsDeviceFatal())
        {
            if (port >= 0)
            {
                EnterPortFailed(port, rc, detail);
                if (Health != BackendHealth.Failed)
                    return PortFailedAnswer(op, port);
            }
            else
            {
                EnterFailed(rc, detail);
            }
            return SubmitStatus.Unavailable;
        }
        if (rc.IsCapacity())
            return Answer(op, FlowCompletionStatus.TableFull, "doca table full (" + detail + ")", (int)rc);
        if (rc == DocaError.AlreadyExist)
            return Answer(op, FlowCompletionStatus.AlreadyExists, detail, (int)rc);
        if (rc is DocaError.InvalidValue or DocaError.NotSupported)
            return Answer(op, FlowCompletionStatus.Unsupported, "the device rejected the entry (" + detail + ")", (int)rc);
        if (rc.IsTransient())
            SetHealth(BackendHealth.Degraded, detail);
        return Answer(op, FlowCompletionStatus.Failed, detail, (int)rc, rc.IsTransient());
    }

    /// <inheritdoc/>
    public override int PollCompletions(Span<FlowCompletion> completions)
    {
        lock (_gate)
        {
            if (!_disposed && Health != BackendHealth.Failed)
            {
                FlushHalfConnections();
                DriveDevice(completions.Length);
            }
            int n = 0;
            while (n < completions.Length && _ready.TryDequeue(out var c))
                completions[n++] = c;
            return n;
        }
    }

    private void DriveDevice(int room)
    {
        try
        {
            RetryDeferredReleases();
            for (int p = 0; p < _ports.Length && Health != BackendHealth.Failed; p++)
            {
                if (_portFailed[p])
                {
                    ProbePort(p);
                    continue;
                }
                try
                {
                    for (ushort q = 0; q < _options.Queues; q++)
                    {
                        int want = room - _ready.Count;
                        if (want <= 0)
                            return;
                        int f = p * _options.Queues + q;
                        _drainingPort = p;
                        _staged[f] = 0;
                        // Called even with nothing pending: it is also how a dead device is noticed.
                        _flow.ProcessCompletions(_ports[p], q, (uint)want);
                        want = room - _ready.Count;
                        if (p == 0 && _ctPipe is not null && want > 0)
                        {
                            DriveConnections(q, (uint)want);
                            want = room - _ready.Count;
                        }
                        if (_agingFlows + _ctAging > 0 && want > 0)
                            _flow.HandleAging(_ports[p], q, (ulong)want);
                    }
                }
                catch (DocaException e) when (e.Error.IsDeviceFatal())
                {
                    // This port died; EnterPortFailed makes it the whole device when it must.
                    EnterPortFailed(p, e.Error, e.Message);
                }
            }
        }
        catch (DocaException e) when (e.Error.IsDeviceFatal())
        {
            EnterFailed(e.Error, e.Message);
        }
    }

    private void RetryDeferredReleases()
    {
        for (int i = _deferredReleases.Count - 1; i >= 0; i--)
        {
            int slot = _deferredReleases[i];
            ref Slot s = ref _slots[slot];
            int f = s.Port * _options.Queues + s.Queue;
            if (_fifos[f].Count >= _options.QueueDepth)
                continue;
            DocaError rc = DocaPipe.TryRemove(s.Queue, s.Entry);
            if (rc.IsDeviceFatal())
            {
                // The list changes under this loop: the next poll goes on with what is left.
                EnterPortFailed(s.Port, rc, "doca_flow_pipe_remove_entry: " + rc);
                return;
            }
            if (rc != DocaError.Success)
            {
                if (rc != DocaError.Again)
                    Interlocked.Increment(ref _submitErrors);
                continue;
            }
            _fifos[f].Enqueue(new PendingOp(FlowOperationKind.Remove, 0, slot, Internal: true));
            _deferredReleases.RemoveAt(i);
        }
    }

    // Runs inside entries_process / aging_handle on the polling thread, under _gate.
    private void OnCompletion(in DocaCompletion c)
    {
        if ((c.Cookie & CtCookieTag) != 0)
        {
            OnConnectionCompletion(c);
            return;
        }
        if (c.Operation == DocaEntryOperation.Aged)
        {
            int aged = (int)c.Cookie;
            if ((uint)aged < (uint)_nextSlot && _slots[aged].Installed && !_slots[aged].Removing && _slots[aged].Entry == c.Entry)
            {
                _ready.Enqueue(new FlowCompletion
                {
                    Kind = FlowOperationKind.Remove, Key = _slots[aged].Key, Status = FlowCompletionStatus.Aged,
                    Detail = $"idle for more than {_slots[aged].AgingSeconds} s",
                });
            }
            return;
        }
        Queue<PendingOp> fifo = _fifos[_drainingPort * _options.Queues + c.Queue];
        if (!fifo.TryDequeue(out PendingOp op))
            return;
        ref Slot s = ref _slots[op.Slot];
        bool ok = c.Status == DocaEntryStatus.Success;
        if (!ok)
            Interlocked.Increment(ref _errorCompletions);
        if (op.Internal)
        {
            // The release of an entry whose add failed: it never held a flow.
            if (ok)
            {
                _reserved--;
                FreeSlot(op.Slot);
            }
            else
            {
                _deferredReleases.Add(op.Slot);
            }
            return;
        }
        FlowKey key = s.Key;
        var status = FlowCompletionStatus.Success;
        string? detail = null;
        switch (op.Kind)
        {
            case FlowOperationKind.Add when ok:
                s.Installed = true;
                _installed++;
                break;
            case FlowOperationKind.Add:
                _slotOf.Remove(key);
                s.Removing = true;
                _deferredReleases.Add(op.Slot);
                break;
            case FlowOperationKind.Remove when ok:
                _slotOf.Remove(key);
                if (s.Installed)
                    _installed--;
                _reserved--;
                FreeSlot(op.Slot);
                break;
            case FlowOperationKind.Remove:
                s.Removing = false;
                break;
        }
        if (!ok)
        {
            status = FlowCompletionStatus.Failed;
            detail = $"the device completed the {op.Kind} with an error";
            SetHealth(BackendHealth.Degraded, detail);
        }
        else if (Health == BackendHealth.Degraded && _failedPorts == 0)
        {
            SetHealth(BackendHealth.Healthy, "operations complete again");
        }
        _ready.Enqueue(new FlowCompletion { Kind = op.Kind, Key = key, Cookie = op.Cookie, Status = status, Detail = detail, IsTransient = !ok });
    }

    private void EnterFailed(DocaError rc, string reason)
    {
        foreach (Queue<PendingOp> fifo in _fifos)
        {
            while (fifo.TryDequeue(out PendingOp op))
            {
                if (op.Internal)
                    continue;
                _ready.Enqueue(new FlowCompletion
                {
                    Kind = op.Kind, Key = _slots[op.Slot].Key, Cookie = op.Cookie, Status = FlowCompletionStatus.Failed,
                    ErrorCode = (int)rc, Detail = "device failed before the operation completed: " + reason,
                });
            }
        }
        Array.Clear(_staged);
        FailConnections(rc, reason);
        // The device lost every entry with it: their handles must never be used again.
        _slotOf.Clear();
        _deferredReleases.Clear();
        _freeSlots.Clear();
        Array.Clear(_slots);
        _nextSlot = 0;
        Volatile.Write(ref _installed, 0);
        _reserved = 0;
        _agingFlows = 0;
        Array.Clear(_portFailed);
        _failedPorts = 0;
        SetHealth(BackendHealth.Failed, reason);
    }

    /// <summary>
    /// After a device failure: asks the device whether it answers again and, if so, returns to
    /// <see cref="BackendHealth.Healthy"/> with empty tables. True when the backend is usable.
    /// </summary>
    public bool TryRecover()
    {
        lock (_gate)
        {
            if (_disposed)
                return false;
            if (Health != BackendHealth.Failed)
                return true;
            try
            {
                for (int p = 0; p < _ports.Length; p++)
                {
                    for (ushort q = 0; q < _options.Queues; q++)
                        _flow.ProcessCompletions(_ports[p], q);
                }
            }
            catch (DocaException)
            {
                return false;
            }
            SetHealth(BackendHealth.Healthy, "the device answers again");
            return true;
        }
    }

    /// <inheritdoc/>
    public override bool TryQueryCounters(in FlowKey key, out FlowStats stats)
    {
        lock (_gate)
        {
            stats = default;
            if (_disposed)
                return false;
            if (_connOf.ContainsKey(key))
                return TryQueryConnectionCounters(key, out stats);
            if (!_slotOf.TryGetValue(key, out int slot) || !_slots[slot].Installed)
                return false;
            if (DocaPipe.TryQueryCounters(_slots[slot].Entry, out DocaCounters c) != DocaError.Success)
                return false;
            stats = new FlowStats((long)c.Packets, (long)c.Bytes, 0);
            return true;
        }
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        lock (_gate)
        {
            if (_disposed)
                return;
            _disposed = true;
            _ready.Clear();
            if (disposing)
                ReleaseNative();
        }
        base.Dispose(disposing);
    }

    private void ReleaseNative()
    {
        foreach (DocaPipe? pipe in _pipes ?? [])
            pipe?.Dispose();
        _ctPipe?.Dispose();
        foreach (DocaPort? port in _ports ?? [])
            port?.Dispose();
        _flow.Dispose();
    }

    [StructLayout(LayoutKind.Auto)]
    private struct Slot
    {
        public FlowKey Key;
        public FlowAction Action; // as the caller gave it, for listings
        public ConnectionId Connection;
        public ConnDirection Direction;
        public DocaEntry Entry;
        public uint AgingSeconds;
        public ushort Queue;
        public byte Port;
        public bool Installed;
        public bool Removing;
    }

    private readonly record struct PendingOp(FlowOperationKind Kind, long Cookie, int Slot, bool Internal);

    private sealed class Sink(DocaBackend owner) : IDocaCompletionSink
    {
        public void OnCompletion(in DocaCompletion completion) => owner.OnCompletion(completion);
    }
}
