using System.Collections.Concurrent;
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
public sealed partial class Datapath : IDisposable
{
    private const int BatchSize = 64;

    private readonly DatapathOptions _options;
    private readonly ISlowPath _slowPath;
    private readonly ISlowPathObserver? _observer;
    private readonly SoftwareBackend _backend; // the host-side lookup table
    private readonly FlowBackend _offload;     // where flows are installed (the same object for the software backend)
    private readonly ConntrackTable _conntrack;
    private readonly FragmentTracker _fragments;
    private readonly MeterTable _meters;
    private readonly TimeProvider _time;
    private readonly IFrameSink _sink;
    private readonly CancellationTokenSource _stopping = new();

    private readonly PortInfo?[] _ports = new PortInfo?[ushort.MaxValue + 1];
    private ConnectionRecord[] _connections;

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
    private readonly HashSet<FlowKey> _dropFlows = new(); // installed drop flows (untracked), for revalidation

    private readonly long[] _dropsByReason = new long[256];
    private long _frames, _fastFrames, _slowFrames, _forwarded, _dropped;
    private long _flowsInstalled, _flowsRemoved, _installFailures, _framesHeld;
    private int _installEpoch;
    private int _deferredOpsPeak;
    private bool _draining;
    private bool _disposed;

    /// <summary>Creates a datapath over <paramref name="backend"/>, asking <paramref name="slowPath"/> on misses and
    /// reporting every frame's result to <paramref name="sink"/>. Flows are installed into <paramref name="backend"/>; frames
    /// are looked up in its <see cref="FlowBackend.HostTable"/> (see <see cref="OffloadBackend"/>).</summary>
    public Datapath(DatapathOptions options, ISlowPath slowPath, FlowBackend backend, IFrameSink sink, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _slowPath = slowPath ?? throw new ArgumentNullException(nameof(slowPath));
        _observer = slowPath as ISlowPathObserver;
        _offload = backend ?? throw new ArgumentNullException(nameof(backend));
        _sink = sink ?? throw new ArgumentNullException(nameof(sink));
        _time = timeProvider ?? TimeProvider.System;
        _backend = HostTableOf(backend, _time, out _ownsHostTable);
        _conntrack = new ConntrackTable(options.Conntrack, _time);
        _conntrack.Observer = new ConntrackObserver(this);
        // Records mirror conntrack's slots: allocated as conntrack allocates, not grown again on their own.
        _connections = new ConnectionRecord[_conntrack.Capacity];
        _fragments = new FragmentTracker(options.FragmentCapacity, TimeSpan.FromSeconds(30), _time.TimestampFrequency);
        _meters = new MeterTable(options.MeterCapacity, _time);
    }

    /// <summary>The connection tracking table (read it from the datapath's thread).</summary>
    public ConntrackTable Conntrack => _conntrack;

    /// <summary>The software table frames are looked up in: the backend itself for the software backend, the host-side
    /// table of a hardware backend.</summary>
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

    /// <summary>Forgets a port: its frames are dropped as unknown-port from now on (its connections end with
    /// revalidation or their timeouts).</summary>
    public void RemovePort(ushort port) => _ports[port] = null;

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
    // gone), or the packet is punted (DatapathOptions.PuntTcpTeardown): the frame then takes the slow path.
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
            if (MustPunt(in p, in _keys[i]))
                return false;
            var update = _conntrack.Update(entry.Connection, entry.Direction, in p, now);
            if (update.Verdict is ConntrackVerdict.NotFound or ConntrackVerdict.Reopen)
            {
                // Gone, or re-opened by this SYN (the old entry and its flows are removed): decide it afresh.
                if (update.Verdict == ConntrackVerdict.NotFound)
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
        if (_ownsHostTable)
            _backend.Dispose();
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

    // One per conntrack slot. The actions are kept taken apart: a FlowAction field is 40 bytes (its NatRewrite
    // pads a one-byte kind to eight), its parts 27, which makes the record 72 bytes instead of 104 (P4).
    private struct ConnectionRecord
    {
        public ConnectionId Id;
        public object? Provenance;
        private ActionProgram? _originalProgram;
        private ActionProgram? _replyProgram;
        private NetAddress _originalNatAddress;
        private NetAddress _replyNatAddress;
        private ushort _originalNatPort;
        private ushort _replyNatPort;
        private NatKind _originalNatKind;
        private NatKind _replyNatKind;
        public bool HasReply;
        public byte Installed;

        public readonly bool HasOriginalAction => _originalProgram is not null;

        public FlowAction OriginalAction
        {
            readonly get => _originalProgram is null ? default
                : new FlowAction(_originalProgram, new NatRewrite(_originalNatKind, _originalNatAddress, _originalNatPort));
            set
            {
                _originalProgram = value.Program;
                _originalNatKind = value.Nat.Kind;
                _originalNatAddress = value.Nat.Address;
                _originalNatPort = value.Nat.Port;
            }
        }

        public FlowAction ReplyAction
        {
            readonly get => _replyProgram is null ? default
                : new FlowAction(_replyProgram, new NatRewrite(_replyNatKind, _replyNatAddress, _replyNatPort));
            set
            {
                _replyProgram = value.Program;
                _replyNatKind = value.Nat.Kind;
                _replyNatAddress = value.Nat.Address;
                _replyNatPort = value.Nat.Port;
            }
        }
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
