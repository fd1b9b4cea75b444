using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Offload.Actions;
using Offload.Backends;
using Offload.Backends.Software;
using Offload.Conntrack;
using Offload.Flows;
using Offload.Packets;

namespace Offload.Datapath;

/// <summary>
/// The switch's packet path (claims C2, C4, C14, C15): frames from a port are parsed, looked up in
/// the fast path by their 7-tuple and, on a hit, rewritten by the cached action with no slow-path
/// involvement; on a miss they go to the <see cref="ISlowPath"/>, whose decision is recorded in
/// conntrack and installed for both directions of the connection. Tunnel frames from the uplink are
/// looked up by their inner 7-tuple and the tunnel's VNI. Conntrack state advances from packets of
/// either path, so both paths always agree on a connection's state and lifetime (claim C5).
/// </summary>
/// <remarks>
/// One thread drives a datapath: <see cref="Process(Span{InputFrame})"/> and <see cref="Poll"/> must not
/// run concurrently. Slow-path decisions that complete later are applied by the next
/// <see cref="Poll"/>; until then later frames of the same connection are held in order.
/// </remarks>
public sealed class Datapath : IDisposable
{
    private const int BatchSize = 64;

    private readonly DatapathOptions _options;
    private readonly ISlowPath _slowPath;
    private readonly SoftwareBackend _backend;
    private readonly ConntrackTable _conntrack;
    private readonly FragmentTracker _fragments;
    private readonly MeterTable _meters;
    private readonly TimeProvider _time;
    private readonly IFrameSink _sink;
    private readonly CancellationTokenSource _stopping = new();

    private readonly PortInfo[] _ports = new PortInfo[ushort.MaxValue + 1];
    private ConnectionRecord[] _connections = new ConnectionRecord[1024];

    // Per-batch scratch, reused: the packet path allocates nothing.
    private readonly FlowKey[] _keys = new FlowKey[BatchSize];
    private readonly int[] _handles = new int[BatchSize];
    private readonly FastPathEntry[] _entries = new FastPathEntry[BatchSize];
    private readonly ParsedPacket[] _parsed = new ParsedPacket[BatchSize];
    private readonly int[] _tunnelLength = new int[BatchSize];
    private readonly FrameClass[] _class = new FrameClass[BatchSize];
    private readonly FlowKey[] _lookupKeys = new FlowKey[BatchSize];
    private readonly int[] _lookupIndex = new int[BatchSize];
    private readonly FlowCompletion[] _completions = new FlowCompletion[256];

    private readonly Dictionary<FlowKey, PendingDecision> _pending = new();
    private readonly ConcurrentQueue<PendingDecision> _decided = new();
    private readonly Queue<FlowOperation> _deferredOps = new();

    private readonly long[] _dropsByReason = new long[256];
    private long _frames, _fastFrames, _slowFrames, _forwarded, _dropped;
    private long _flowsInstalled, _flowsRemoved, _installFailures, _framesHeld;
    private int _installEpoch;
    private bool _disposed;

    /// <summary>Creates a datapath over <paramref name="backend"/>, asking <paramref name="slowPath"/> on misses and
    /// reporting every frame's result to <paramref name="sink"/>.</summary>
    public Datapath(DatapathOptions options, ISlowPath slowPath, SoftwareBackend backend, IFrameSink sink, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _slowPath = slowPath ?? throw new ArgumentNullException(nameof(slowPath));
        _backend = backend ?? throw new ArgumentNullException(nameof(backend));
        _sink = sink ?? throw new ArgumentNullException(nameof(sink));
        _time = timeProvider ?? TimeProvider.System;
        _conntrack = new ConntrackTable(options.Conntrack, _time);
        _conntrack.Observer = new ConntrackObserver(this);
        _fragments = new FragmentTracker(options.FragmentCapacity, TimeSpan.FromSeconds(30), _time.TimestampFrequency);
        _meters = new MeterTable(options.MeterCapacity, _time);
    }

    /// <summary>The connection tracking table (read it from the datapath's thread).</summary>
    public ConntrackTable Conntrack => _conntrack;

    /// <summary>The fast-path backend.</summary>
    public SoftwareBackend Backend => _backend;

    /// <summary>Token buckets used by meter operations (QoS).</summary>
    public MeterTable Meters => _meters;

    /// <summary>Connections whose slow-path decision is still pending.</summary>
    public int PendingDecisions => _pending.Count;

    // ---------------- ports ----------------

    /// <summary>Declares a VM port: its frames belong to virtual network <paramref name="vni"/>.</summary>
    public void AddPort(ushort port, string name, uint vni)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (port == 0)
            throw new ArgumentOutOfRangeException(nameof(port), "Port 0 is reserved for 'no port'.");
        _ports[port] = new PortInfo(name, vni, IsUplink: false);
    }

    /// <summary>Declares the uplink: tunnel frames arriving on it are looked up by their inner 7-tuple and VNI.</summary>
    public void AddUplink(ushort port, string name = "uplink")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (port == 0)
            throw new ArgumentOutOfRangeException(nameof(port), "Port 0 is reserved for 'no port'.");
        _ports[port] = new PortInfo(name, 0, IsUplink: true);
    }

    /// <summary>The name of a port, or null when it is not declared.</summary>
    public string? PortName(ushort port) => _ports[port]?.Name;

    // ---------------- packet path ----------------

    /// <summary>Processes one frame.</summary>
    public void Process(ref InputFrame frame) => Process(MemoryMarshal.CreateSpan(ref frame, 1));

    /// <summary>Processes a batch of frames: every frame produces one <see cref="IFrameSink.OnFrame"/> call.</summary>
    public void Process(Span<InputFrame> frames)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        while (frames.Length > 0)
        {
            int n = Math.Min(frames.Length, BatchSize);
            ProcessChunk(frames.Slice(0, n));
            frames = frames.Slice(n);
        }
    }

    private void ProcessChunk(Span<InputFrame> frames)
    {
        long now = _time.GetTimestamp();
        int lookups = 0;
        for (int i = 0; i < frames.Length; i++)
        {
            _class[i] = Classify(ref frames[i], i, now);
            if (_class[i] == FrameClass.Lookup)
            {
                _lookupKeys[lookups] = _keys[i];
                _lookupIndex[lookups++] = i;
            }
        }

        _backend.LookupBatch(_lookupKeys.AsSpan(0, lookups), _handles.AsSpan(0, lookups), _entries.AsSpan(0, lookups));
        // Spread lookup results back to frame positions (walk backwards: lookupIndex[j] >= j).
        for (int j = lookups - 1; j >= 0; j--)
        {
            int i = _lookupIndex[j];
            _handles[i] = _handles[j];
            _entries[i] = _entries[j];
        }

        int epoch = _installEpoch;
        for (int i = 0; i < frames.Length; i++)
        {
            switch (_class[i])
            {
                case FrameClass.Lookup:
                    // A flow installed by an earlier frame of this batch was not there at batch lookup time.
                    if (_handles[i] < 0 && epoch != _installEpoch)
                        _backend.TryLookup(_keys[i], out _handles[i], out _entries[i]);
                    if (_handles[i] < 0 || !TryFastPath(ref frames[i], i, now))
                        SlowPath(ref frames[i], i, now);
                    break;
                case FrameClass.Slow:
                    SlowPath(ref frames[i], i, now);
                    break;
            }
        }
    }

    private FrameClass Classify(ref InputFrame frame, int i, long now)
    {
        ref var p = ref _parsed[i];
        _tunnelLength[i] = 0;
        _handles[i] = -1;
        var port = _ports[frame.InPort];
        if (port is null)
        {
            p = default;
            _keys[i] = default;
            EmitDrop(ref frame, default, DropReason.UnknownPort, PacketPath.Slow);
            return FrameClass.Done;
        }

        var span = frame.Buffer.Span;
        PacketParser.Parse(span, out p);
        uint vni = port.Vni;
        if (p.IsValid && port.IsUplink && p.Tunnel != TunnelKind.None)
        {
            int inner = p.InnerOffset;
            vni = p.Vni;
            ushort innerType = p.InnerEtherType;
            _tunnelLength[i] = inner;
            if (innerType == EtherType.TransparentEthernetBridging)
                PacketParser.Parse(span.Slice(inner), out p);
            else
                PacketParser.ParseL3(span.Slice(inner), innerType, out p);
        }
        if (!p.IsValid)
        {
            _keys[i] = default;
            EmitDrop(ref frame, default, p.Error, PacketPath.Slow);
            return FrameClass.Done;
        }
        if (!p.IsIp)
        {
            _keys[i] = default;
            return FrameClass.Slow; // ARP and friends: answered or switched by the slow path, never tracked
        }
        if (p.IsFragment)
        {
            if (p.HasPorts)
                _fragments.RecordFirstFragment(in p, now);
            else if (!_fragments.TryResolve(ref p, now))
            {
                _keys[i] = FlowKey.FromPacket(in p, frame.InPort, vni);
                EmitDrop(ref frame, _keys[i], DropReason.FragmentWithoutFlow, PacketPath.Slow);
                return FrameClass.Done;
            }
        }
        _keys[i] = FlowKey.FromPacket(in p, frame.InPort, vni);
        return p.IsIcmpError ? FrameClass.Slow : FrameClass.Lookup;
    }

    // Applies the cached action of a hit. False when the entry turned out stale (its connection is
    // gone): the frame then takes the slow path as a miss.
    private bool TryFastPath(ref InputFrame frame, int i, long now)
    {
        var entry = _entries[i];
        var program = _backend.GetProgram(entry.ProgramId);
        if (program is null)
            return false;
        ref var p = ref _parsed[i];
        var state = default(ConnState);
        int timeout = 0;
        if (!entry.Connection.IsNone)
        {
            var update = _conntrack.Update(entry.Connection, entry.Direction, in p);
            if (update.Verdict == ConntrackVerdict.NotFound)
            {
                Submit(FlowOperation.Remove(_keys[i]));
                return false;
            }
            state = update.State;
            timeout = update.TimeoutSeconds;
            if (update.IsInvalid)
            {
                _fastFrames++;
                EmitDrop(ref frame, _keys[i], DropReason.ConntrackInvalid, PacketPath.Fast, entry.Connection, state, timeout);
                return true;
            }
        }
        int bytes = frame.Buffer.Length;
        var outcome = ActionExecutor.Apply(program, in entry.Nat, ref frame.Buffer, ref p, _tunnelLength[i], _meters, now);
        _backend.RecordHit(_handles[i], bytes, now);
        _fastFrames++;
        Emit(ref frame, _keys[i], outcome, PacketPath.Fast, entry.Connection, state, timeout);
        return true;
    }

    private void SlowPath(ref InputFrame frame, int i, long now)
    {
        ref var p = ref _parsed[i];
        var key = _keys[i];
        if (p.IsIp && _pending.TryGetValue(key, out var waiting))
        {
            Hold(waiting, ref frame, i);
            return;
        }

        var connection = ConnectionId.None;
        var direction = ConnDirection.Original;
        bool related = false;
        if (p.IsIcmpError)
        {
            if (_conntrack.TryLookupRelated(in p, key.Vni, out connection, out direction))
            {
                related = true;
                // An error about a connection follows that connection's flow for its direction (claim C5: RELATED).
                if (RecordOf(connection).Id == connection && _conntrack.TryGet(connection, out var info))
                {
                    var flowKey = direction == ConnDirection.Original ? info.Original : info.Reply;
                    if (_backend.TryLookup(flowKey, out int handle, out var entry) && _backend.GetProgram(entry.ProgramId) is { } program)
                    {
                        int bytes = frame.Buffer.Length;
                        var outcome = ActionExecutor.Apply(program, in entry.Nat, ref frame.Buffer, ref p, _tunnelLength[i], _meters, now);
                        _backend.RecordHit(handle, bytes, now);
                        _fastFrames++;
                        Emit(ref frame, key, outcome, PacketPath.Fast, connection, default, 0);
                        return;
                    }
                }
            }
        }
        else if (p.IsIp)
        {
            _conntrack.TryLookup(key, out connection, out direction);
        }

        var request = new SlowPathRequest
        {
            InPort = frame.InPort,
            Key = key,
            Packet = p,
            Frame = frame.Buffer.Array.AsMemory(frame.Buffer.Offset, frame.Buffer.Length),
            TunnelHeaderLength = _tunnelLength[i],
            Connection = connection,
            Direction = direction,
            IsRelated = related,
            Timestamp = now,
        };

        ValueTask<SlowPathDecision> decision;
        try
        {
            decision = _slowPath.DecideAsync(request, _stopping.Token);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            _slowFrames++;
            EmitDrop(ref frame, key, DropReason.SlowPathError, PacketPath.Slow);
            return;
        }

        if (decision.IsCompleted)
        {
            ApplyDecision(ref frame, ref p, key, _tunnelLength[i], request, Result(decision), now);
            return;
        }

        if (!p.IsIp || _pending.Count >= _options.MaxPendingConnections)
        {
            // Nothing to hold frames by (non-IP), or too many decisions in flight: the frame is dropped
            // with a reason and the decision, when it comes, still takes effect for later frames.
            _ = decision.AsTask();
            _slowFrames++;
            EmitDrop(ref frame, key, DropReason.PendingQueueFull, PacketPath.Slow);
            return;
        }

        var pending = new PendingDecision(this, key, request with { Frame = CopyFrame(in frame.Buffer) });
        pending.Frames.Enqueue(new HeldFrame(CopyBuffer(in frame.Buffer), frame.InPort, frame.Cookie));
        _framesHeld++;
        _pending.Add(key, pending);
        var task = decision.AsTask();
        task.ContinueWith(static (t, state) =>
        {
            var pd = (PendingDecision)state!;
            pd.Completed = t;
            pd.Owner._decided.Enqueue(pd);
        }, pending, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private static SlowPathDecision? Result(ValueTask<SlowPathDecision> decision)
    {
        if (!decision.IsCompletedSuccessfully)
        {
            _ = decision.AsTask().Exception; // observe the fault
            return null;
        }
        return decision.Result;
    }

    private void Hold(PendingDecision pending, ref InputFrame frame, int i)
    {
        if (pending.Frames.Count >= _options.PendingFramesPerConnection)
        {
            _slowFrames++;
            EmitDrop(ref frame, _keys[i], DropReason.PendingQueueFull, PacketPath.Slow);
            return;
        }
        pending.Frames.Enqueue(new HeldFrame(CopyBuffer(in frame.Buffer), frame.InPort, frame.Cookie));
        _framesHeld++;
    }

    private void ApplyDecision(ref InputFrame frame, ref ParsedPacket p, in FlowKey key, int tunnelLength,
        SlowPathRequest request, SlowPathDecision? decision, long now)
    {
        _slowFrames++;
        if (decision is null)
        {
            EmitDrop(ref frame, key, DropReason.SlowPathError, PacketPath.Slow);
            return;
        }
        if (decision.Response is { } response)
        {
            Count(ActionVerdict.Output, DropReason.None);
            var result = new FrameResult
            {
                Cookie = frame.Cookie, InPort = frame.InPort, Key = key, Path = PacketPath.Slow,
                Verdict = ActionVerdict.Output, OutPort = decision.ResponsePort, IsResponse = true,
            };
            _sink.OnFrame(in result, response);
            return;
        }
        if (decision.Verdict == ActionVerdict.Drop)
        {
            if (decision.InstallDropFlow && p.IsIp && !request.IsRelated && decision.Action.Program is not null)
            {
                Submit(FlowOperation.Add(key, decision.Action, idleTimeout: _options.DropFlowIdleTimeout));
                _installEpoch++;
            }
            EmitDrop(ref frame, key, decision.Reason == DropReason.None ? DropReason.Policy : decision.Reason, PacketPath.Slow,
                request.Connection, default, 0);
            return;
        }

        var connection = request.Connection;
        var direction = request.Direction;
        var state = default(ConnState);
        int timeout = 0;
        if (p.IsIp && decision.Track && !request.IsRelated)
        {
            if (!Track(ref p, key, decision, ref connection, ref direction, out state, out timeout, out var reason))
            {
                EmitDrop(ref frame, key, reason, PacketPath.Slow, connection, state, timeout);
                return;
            }
        }

        if (decision.Action.Program is null)
        {
            EmitDrop(ref frame, key, DropReason.SlowPathError, PacketPath.Slow, connection, state, timeout);
            return;
        }
        var nat = decision.Action.Nat;
        var outcome = ActionExecutor.Apply(decision.Action.Program, in nat, ref frame.Buffer, ref p, tunnelLength, _meters, now);
        Emit(ref frame, key, outcome, PacketPath.Slow, connection, state, timeout);
    }

    // Records the packet in conntrack (creating the connection for a first packet), remembers the
    // decision for both directions, and installs the flows once the offload policy allows.
    private bool Track(ref ParsedPacket p, in FlowKey key, SlowPathDecision decision, ref ConnectionId connection,
        ref ConnDirection direction, out ConnState state, out int timeout, out DropReason reason)
    {
        state = default;
        timeout = 0;
        reason = DropReason.None;
        bool created = false;
        if (connection.IsNone || !_conntrack.Contains(connection))
        {
            FlowKey replyKey;
            if (decision.ReplyKey is { } rk)
                replyKey = rk;
            else if (!key.TryInvert(0, key.Vni, out replyKey))
                replyKey = default;
            var result = _conntrack.TryCreate(key, replyKey, in p, out connection);
            switch (result)
            {
                case ConntrackCreateResult.Created:
                    direction = ConnDirection.Original;
                    created = true;
                    break;
                case ConntrackCreateResult.Exists:
                    _conntrack.TryLookup(key, out connection, out direction);
                    break;
                case ConntrackCreateResult.Full:
                    reason = DropReason.ConntrackFull;
                    return false;
                default:
                    reason = DropReason.ConntrackInvalid;
                    return false;
            }
        }

        if (created)
        {
            var info = _conntrack.Get(connection);
            state = info.State;
            timeout = (int)Math.Round(info.TimeoutRemaining.TotalSeconds);
        }
        else
        {
            var update = _conntrack.Update(connection, direction, in p);
            state = update.State;
            timeout = update.TimeoutSeconds;
            if (update.IsInvalid || update.Verdict == ConntrackVerdict.NotFound)
            {
                reason = DropReason.ConntrackInvalid;
                return false;
            }
        }

        ref var record = ref RecordOf(connection);
        if (record.Id != connection)
            record = new ConnectionRecord { Id = connection };
        bool original = direction == ConnDirection.Original;
        // The flow keys live in the conntrack entry (original and reply tuples, with their ingress ports);
        // the record keeps what conntrack does not: the actions of both directions.
        if (original)
        {
            record.OriginalAction = decision.Action;
            if (decision.ReplyKey is not null && decision.ReplyAction.Program is not null)
            {
                record.ReplyAction = decision.ReplyAction;
                record.HasReply = true;
            }
        }
        else
        {
            record.ReplyAction = decision.Action;
            // Installable only if conntrack's reply tuple is this packet's exact key (ingress port included).
            record.HasReply = _conntrack.TryGet(connection, out var tracked) && tracked.Reply.Equals(key);
            if (decision.ReplyAction.Program is not null)
                record.OriginalAction = decision.ReplyAction;
        }
        record.Provenance = decision.Provenance;
        if (record.OriginalAction.Program is not null && MayOffload(connection, state))
            Install(ref record);
        return true;
    }

    private bool MayOffload(ConnectionId connection, ConnState state)
    {
        var policy = _options.Offload;
        if (policy.When == OffloadTrigger.Established && state is not (ConnState.Established or ConnState.Replied or ConnState.Assured))
            return false;
        if (policy.MinPackets == 0)
            return true;
        var info = _conntrack.Get(connection);
        return info.OriginalPackets + info.ReplyPackets >= policy.MinPackets;
    }

    private void Install(ref ConnectionRecord record)
    {
        long cookie = Cookie(record.Id);
        var info = _conntrack.Get(record.Id);
        if ((record.Installed & InstalledOriginal) == 0)
        {
            Submit(FlowOperation.Add(info.Original, record.OriginalAction, record.Id, ConnDirection.Original, cookie: cookie));
            record.Installed |= InstalledOriginal;
            _flowsInstalled++;
        }
        if (record.HasReply && (record.Installed & InstalledReply) == 0)
        {
            Submit(FlowOperation.Add(info.Reply, record.ReplyAction, record.Id, ConnDirection.Reply, cookie: cookie));
            record.Installed |= InstalledReply;
            _flowsInstalled++;
        }
        _installEpoch++;
    }

    // Completions carry the connection in their cookie so failures find their connection without a lookup.
    private static long Cookie(ConnectionId id) => ((long)id.Generation << 32) | (uint)id.Slot;

    private static ConnectionId FromCookie(long cookie) => new((int)(uint)cookie, (uint)(cookie >> 32));

    private const byte InstalledOriginal = 1;
    private const byte InstalledReply = 2;

    private void OnConnectionRemoved(ConnectionId id, in ConnectionInfo info, ConntrackRemoveReason reason)
    {
        ref var record = ref RecordOf(id);
        if (record.Id != id)
            return;
        if ((record.Installed & InstalledOriginal) != 0)
        {
            Submit(FlowOperation.Remove(info.Original));
            _flowsRemoved++;
        }
        if ((record.Installed & InstalledReply) != 0)
        {
            Submit(FlowOperation.Remove(info.Reply));
            _flowsRemoved++;
        }
        record = default;
    }

    private ref ConnectionRecord RecordOf(ConnectionId id)
    {
        int index = id.Slot;
        if (index >= _connections.Length)
        {
            int size = _connections.Length;
            while (size <= index)
                size *= 2;
            Array.Resize(ref _connections, size);
        }
        return ref _connections[index];
    }

    // ---------------- control: completions, expiry, held frames ----------------

    /// <summary>
    /// Housekeeping, called regularly by the thread that drives <see cref="Process(Span{InputFrame})"/>: applies
    /// slow-path decisions that completed since the last call (and releases the frames held behind them),
    /// expires connections (removing their flows), and handles backend completions. Returns the work done.
    /// </summary>
    public int Poll()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        int work = 0;
        while (_decided.TryDequeue(out var pending))
        {
            ReleaseHeld(pending);
            work++;
        }
        work += _conntrack.Expire();
        int n;
        while ((n = _backend.PollCompletions(_completions)) > 0)
        {
            for (int i = 0; i < n; i++)
                OnCompletion(in _completions[i]);
            work += n;
            if (n < _completions.Length)
                break;
        }
        FlushDeferred();
        return work;
    }

    private void ReleaseHeld(PendingDecision pending)
    {
        _pending.Remove(pending.Key);
        var task = pending.Completed!;
        var decision = task.IsCompletedSuccessfully ? task.Result : null;
        long now = _time.GetTimestamp();
        bool first = true;
        while (pending.Frames.TryDequeue(out var held))
        {
            var input = new InputFrame(held.Buffer, held.InPort, held.Cookie);
            if (first)
            {
                first = false;
                // Re-parse: the held copy has its own buffer, so offsets must be taken afresh.
                int i = 0;
                if (Classify(ref input, i, now) != FrameClass.Done)
                    ApplyDecision(ref input, ref _parsed[i], _keys[i], _tunnelLength[i], pending.Request, decision, now);
            }
            else
            {
                Process(ref input);
            }
        }
    }

    private void OnCompletion(in FlowCompletion completion)
    {
        switch (completion.Status)
        {
            case FlowCompletionStatus.Success:
            case FlowCompletionStatus.NotFound when completion.Kind == FlowOperationKind.Remove:
                return;
            case FlowCompletionStatus.Aged:
                // Tracked flows live as long as their connection; only untracked (drop) flows age out here.
                if (_backend.TryLookup(completion.Key, out _, out var entry) && entry.Connection.IsNone)
                {
                    Submit(FlowOperation.Remove(completion.Key));
                    _flowsRemoved++;
                }
                return;
            case FlowCompletionStatus.AlreadyExists when completion.Kind == FlowOperationKind.Add && completion.Cookie != 0:
            {
                // A flow of an older connection with the same key is still there: replace it.
                var id = FromCookie(completion.Cookie);
                ref var record = ref RecordOf(id);
                if (record.Id == id && _conntrack.TryGet(id, out var info))
                {
                    bool original = completion.Key.Equals(info.Original);
                    Submit(FlowOperation.Update(completion.Key, original ? record.OriginalAction : record.ReplyAction, id,
                        original ? ConnDirection.Original : ConnDirection.Reply, cookie: completion.Cookie));
                }
                return;
            }
            default:
            {
                // Not installed (table full, unsupported, device error): the connection keeps working through the slow path.
                _installFailures++;
                if (completion.Kind == FlowOperationKind.Add && completion.Cookie != 0)
                {
                    var id = FromCookie(completion.Cookie);
                    ref var record = ref RecordOf(id);
                    if (record.Id == id && _conntrack.TryGet(id, out var info))
                        record.Installed &= (byte)~(completion.Key.Equals(info.Original) ? InstalledOriginal : InstalledReply);
                }
                return;
            }
        }
    }

    private void Submit(in FlowOperation operation)
    {
        if (_deferredOps.Count == 0 && _backend.TrySubmit(operation) != SubmitStatus.QueueFull)
            return;
        // Back-pressure: keep the operation, in order, until the backend has room. Never dropped —
        // a lost removal would be a stale allow.
        _deferredOps.Enqueue(operation);
    }

    private void FlushDeferred()
    {
        while (_deferredOps.TryPeek(out var op))
        {
            if (_backend.TrySubmit(op) == SubmitStatus.QueueFull)
            {
                int n = _backend.PollCompletions(_completions);
                for (int i = 0; i < n; i++)
                    OnCompletion(in _completions[i]);
                if (n == 0)
                    return;
                continue;
            }
            _deferredOps.Dequeue();
        }
    }

    // ---------------- results and counters ----------------

    private void Emit(ref InputFrame frame, in FlowKey key, in ActionOutcome outcome, PacketPath path,
        ConnectionId connection, ConnState state, int timeout)
    {
        Count(outcome.Verdict, outcome.Reason);
        var result = new FrameResult
        {
            Cookie = frame.Cookie, InPort = frame.InPort, Key = key, Path = path, Verdict = outcome.Verdict,
            OutPort = outcome.OutPort, Reason = outcome.Reason, Connection = connection, State = state, TimeoutSeconds = timeout,
        };
        _sink.OnFrame(in result, frame.Buffer.Span);
    }

    private void EmitDrop(ref InputFrame frame, in FlowKey key, DropReason reason, PacketPath path,
        ConnectionId connection = default, ConnState state = default, int timeout = 0)
    {
        Count(ActionVerdict.Drop, reason);
        var result = new FrameResult
        {
            Cookie = frame.Cookie, InPort = frame.InPort, Key = key, Path = path, Verdict = ActionVerdict.Drop,
            Reason = reason, Connection = connection, State = state, TimeoutSeconds = timeout,
        };
        _sink.OnFrame(in result, frame.Buffer.Span);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Count(ActionVerdict verdict, DropReason reason)
    {
        _frames++;
        if (verdict == ActionVerdict.Output)
        {
            _forwarded++;
            return;
        }
        _dropped++;
        _dropsByReason[(byte)reason]++;
    }

    /// <summary>A snapshot of the counters.</summary>
    public DatapathStats GetStats()
    {
        var drops = new Dictionary<DropReason, long>();
        for (int i = 0; i < _dropsByReason.Length; i++)
        {
            long v = Volatile.Read(ref _dropsByReason[i]);
            if (v != 0)
                drops[(DropReason)i] = v;
        }
        return new DatapathStats
        {
            Frames = _frames, FastPathFrames = _fastFrames, SlowPathFrames = _slowFrames, Forwarded = _forwarded,
            Dropped = _dropped, DropsByReason = drops, FlowsInstalled = _flowsInstalled, FlowsRemoved = _flowsRemoved,
            FlowInstallFailures = _installFailures, FramesHeld = _framesHeld, Connections = _conntrack.Count, Flows = _backend.Count,
        };
    }

    private static ReadOnlyMemory<byte> CopyFrame(in PacketBuffer buffer) => buffer.Span.ToArray();

    private static PacketBuffer CopyBuffer(in PacketBuffer buffer) => PacketBuffer.CopyOf(buffer.Span);

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        _stopping.Cancel();
        _stopping.Dispose();
        _conntrack.Observer = null;
    }

    private sealed class ConntrackObserver(Datapath owner) : IConntrackObserver
    {
        public void OnRemoved(ConnectionId id, in ConnectionInfo info, ConntrackRemoveReason reason) =>
            owner.OnConnectionRemoved(id, in info, reason);
    }

    private enum FrameClass : byte
    {
        Done,
        Lookup,
        Slow,
    }

    private sealed record PortInfo(string Name, uint Vni, bool IsUplink);

    private struct ConnectionRecord
    {
        public ConnectionId Id;
        public FlowAction OriginalAction;
        public FlowAction ReplyAction;
        public bool HasReply;
        public byte Installed;
        public object? Provenance;
    }

    private readonly record struct HeldFrame(PacketBuffer Buffer, ushort InPort, long Cookie);

    private sealed class PendingDecision(Datapath owner, FlowKey key, SlowPathRequest request)
    {
        public Datapath Owner { get; } = owner;
        public FlowKey Key { get; } = key;
        public SlowPathRequest Request { get; } = request;
        public Queue<HeldFrame> Frames { get; } = new();
        public Task<SlowPathDecision>? Completed { get; set; }
    }
}
