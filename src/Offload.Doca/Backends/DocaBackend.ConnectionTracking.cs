using System.Runtime.InteropServices;
using Offload.Actions;
using Offload.Backends;
using Offload.Conntrack;
using Offload.Doca.Flow;
using Offload.Flows;

namespace Offload.Doca.Backends;

// Flow CT: the two flows of a connection (the datapath adds them one after the other, with the same connection id
// and opposite directions) become one CT entry holding both directions. The first add waits for its partner until
// the next poll (a few more when the device pushed the partner back); one left alone then goes in as a plain entry.
// Each caller operation still gets its own completion: an add answers when the CT entry is installed, removing one
// direction sends that direction's packets to the host (a CT update) and removing the second removes the entry.
public sealed partial class DocaBackend
{
    private const long CtCookieTag = 1L << 62;

    // Polls a flow waits for a partner the device pushed back before it goes in alone.
    private const int MaxHalfPolls = 64;

    private readonly DocaPipe? _ctPipe;
    private readonly Queue<CtPending>[] _ctFifos;
    private readonly Dictionary<FlowKey, int> _connOf = new();
    private readonly Dictionary<ConnectionId, Half> _halves = new();
    private readonly List<(int Conn, DocaEntry Entry)> _ctReleases = new();
    private readonly Stack<int> _freeConns = new();
    private CtConn[] _conns = new CtConn[64];
    private int _nextConn;
    private int _ctAging;

    /// <summary>Connections held as Flow CT entries (both directions each).</summary>
    public int ConnectionCount
    {
        get
        {
            lock (_gate)
                return _connOf.Count / 2;
        }
    }

    /// <summary>True when <paramref name="key"/> is one direction of a Flow CT entry.</summary>
    public bool IsConnectionTracked(in FlowKey key)
    {
        lock (_gate)
            return _connOf.ContainsKey(key);
    }

    /// <summary>Reads a CT connection's per-direction counters and last hit (device seconds) by either of its keys.</summary>
    public bool TryQueryConnection(in FlowKey key, out DocaConnectionStats stats)
    {
        lock (_gate)
        {
            stats = default;
            return _ctPipe is not null && _connOf.TryGetValue(key, out int i) && _conns[i].Installed
                && _ctPipe.TryQueryConnection(_conns[i].Queue, _conns[i].Entry, out stats) == DocaError.Success;
        }
    }

    private static DocaPipe CreateConnectionPipe(DocaPort port) => port.CreatePipe(new DocaPipeSpec
    {
        Name = "offload-ct",
        IsConnectionTracking = true,
        MissFate = DocaFate.Software,
    });

    private bool IsConnectionInstalled(in FlowKey key) =>
        _connOf.TryGetValue(key, out int i) && _conns[i].Installed && (_conns[i].Gone & DirBit(i, key)) == 0;

    private byte DirBit(int conn, in FlowKey key) => _conns[conn].Origin.Equals(key) ? (byte)1 : (byte)2;

    // True when the operation was handled here (status set); false lets the plain-entry path take it.
    private bool TrySubmitConnection(in FlowOperation op, out SubmitStatus status)
    {
        status = SubmitStatus.Accepted;
        if (_connOf.TryGetValue(op.Key, out int conn))
        {
            status = op.Kind switch
            {
                FlowOperationKind.Add => Answer(op, FlowCompletionStatus.AlreadyExists, "flow already installed"),
                FlowOperationKind.Update => UpdateDirection(op, conn),
                _ => RemoveDirection(op, conn),
            };
            return true;
        }
        if (!op.Connection.IsNone && _halves.TryGetValue(op.Connection, out Half waiting) && waiting.Op.Key.Equals(op.Key))
        {
            FlowOperation half = waiting.Op;
            // An operation on a flow still waiting for its partner: it goes in as a plain entry first.
            _halves.Remove(op.Connection);
            if (SubmitAdd(half) == SubmitStatus.QueueFull)
            {
                _halves.Add(op.Connection, waiting);
                status = SubmitStatus.QueueFull;
                return true;
            }
            return false;
        }
        if (op.Kind != FlowOperationKind.Add || !Eligible(op))
            return false;
        if (!_halves.TryGetValue(op.Connection, out waiting))
        {
            if (_slotOf.ContainsKey(op.Key))
                return false;
            _halves.Add(op.Connection, new Half(op, 0, PartnerPushedBack: false));
            return true; // completes with the CT entry, or as a plain entry at the next poll
        }
        FlowOperation first = waiting.Op;
        if (first.Direction == op.Direction || _slotOf.ContainsKey(op.Key))
            return false;
        _halves.Remove(op.Connection);
        status = AddConnection(op.Direction == ConnDirection.Original ? op : first, op.Direction == ConnDirection.Original ? first : op, out bool fallback);
        if (status == SubmitStatus.QueueFull)
        {
            // The caller submits the partner again once there is room: the first waits for it a while longer.
            _halves.Add(op.Connection, waiting with { PartnerPushedBack = true });
        }
        else if (fallback)
        {
            // The CT table would not take it (full, a tuple already there): both flows as plain entries.
            if (SubmitAdd(first) == SubmitStatus.QueueFull)
                _halves.Add(op.Connection, new Half(first with { Connection = ConnectionId.None }, MaxHalfPolls, PartnerPushedBack: false));
            return false;
        }
        return true;
    }

    // The CT table matches untunnelled packets: a flow qualifies on a VM-facing port, or on the uplink outside any
    // tunnel (VNI 0: the public network, e.g. SNAT replies), with an action DOCA takes.
    private bool Eligible(in FlowOperation op)
    {
        if (op.Connection.IsNone || op.Action.Program is null || GetUnsupportedReason(op.Key, op.Action) is not null)
            return false;
        int port = PortIndexOf(op.Key, out _);
        return port >= 0 && (_options.Ports[port].NetworkVni is not null || op.Key.Vni == 0);
    }

    private SubmitStatus AddConnection(in FlowOperation origin, in FlowOperation reply, out bool fallback)
    {
        fallback = false;
        ushort queue = QueueOf(origin.Key);
        if (_ctFifos[queue].Count >= _options.QueueDepth)
            return SubmitStatus.QueueFull;
        DocaConnectionSpec spec = SpecOf(origin, reply);
        int conn = AllocateConn();
        DocaError rc = _ctPipe!.TryAddConnection(queue, spec, CtCookieTag | (uint)conn, out DocaEntry entry);
        if (rc != DocaError.Success)
        {
            _freeConns.Push(conn);
            if (rc == DocaError.Again)
                return SubmitStatus.QueueFull;
            if (rc.IsDeviceFatal())
            {
                Interlocked.Increment(ref _submitErrors);
                EnterFailed(rc, "doca_flow_ct_add_entry: " + rc);
                return SubmitStatus.Unavailable;
            }
            fallback = true;
            return SubmitStatus.Accepted;
        }
        _conns[conn] = new CtConn
        {
            Origin = origin.Key, Reply = reply.Key, Entry = entry, Spec = spec, Queue = queue, Live = true,
            OriginCookie = origin.Cookie, ReplyCookie = reply.Cookie,
            OriginAction = origin.Action, ReplyAction = reply.Action, Connection = origin.Connection,
        };
        _connOf.Add(origin.Key, conn);
        _connOf.Add(reply.Key, conn);
        if (spec.TimeoutSeconds != 0)
            _ctAging++;
        _ctFifos[queue].Enqueue(new CtPending(FlowOperationKind.Add, conn, 3, origin.Cookie, reply.Cookie, Internal: false));
        return SubmitStatus.Accepted;
    }

    private static DocaConnectionSpec SpecOf(in FlowOperation origin, in FlowOperation reply)
    {
        DocaActionTranslator.TryTranslate(origin.Key, origin.Action, out DocaFlowAction originAction);
        DocaActionTranslator.TryTranslate(reply.Key, reply.Action, out DocaFlowAction replyAction);
        TimeSpan idle = origin.IdleTimeout > reply.IdleTimeout ? origin.IdleTimeout : reply.IdleTimeout;
        uint timeout = idle <= TimeSpan.Zero ? 0u : (uint)Math.Clamp(Math.Ceiling(idle.TotalSeconds), 1, uint.MaxValue);
        return new DocaConnectionSpec(TupleOf(origin.Key), TupleOf(reply.Key), originAction, replyAction, timeout);
    }

    // CT entries match the 5-tuple of untunnelled packets: the VNI is the port's, not the packet's.
    private static DocaFlowTuple TupleOf(in FlowKey k) => new(k.SrcIp, k.DstIp, k.SrcPort, k.DstPort, k.Protocol, 0);

    private SubmitStatus UpdateDirection(in FlowOperation op, int conn)
    {
        ref CtConn c = ref _conns[conn];
        byte bit = DirBit(conn, op.Key);
        if (c.Removing || (c.Gone & bit) != 0)
            return Answer(op, FlowCompletionStatus.NotFound, "flow not installed");
        if (op.Action.Program is null)
            return Answer(op, FlowCompletionStatus.Unsupported, "no action program");
        if (GetUnsupportedReason(op.Key, op.Action) is string reason)
            return Answer(op, FlowCompletionStatus.Unsupported, reason);
        if (_ctFifos[c.Queue].Count >= _options.QueueDepth)
            return SubmitStatus.QueueFull;
        DocaActionTranslator.TryTranslate(op.Key, op.Action, out DocaFlowAction action);
        DocaConnectionSpec spec = bit == 1 ? c.Spec with { OriginAction = action } : c.Spec with { ReplyAction = action };
        DocaError rc = _ctPipe!.TryUpdateConnection(c.Queue, c.Entry, spec);
        if (rc != DocaError.Success)
            return Rejected(op, rc, "doca_flow_ct_update_entry");
        c.Spec = spec;
        if (bit == 1)
            c.OriginAction = op.Action;
        else
            c.ReplyAction = op.Action;
        _ctFifos[c.Queue].Enqueue(new CtPending(FlowOperationKind.Update, conn, bit, op.Cookie, op.Cookie, Internal: false));
        return SubmitStatus.Accepted;
    }

    private SubmitStatus RemoveDirection(in FlowOperation op, int conn)
    {
        ref CtConn c = ref _conns[conn];
        byte bit = DirBit(conn, op.Key);
        if (c.Removing || (c.Gone & bit) != 0)
            return Answer(op, FlowCompletionStatus.NotFound, "flow not installed");
        if (_ctFifos[c.Queue].Count >= _options.QueueDepth)
            return SubmitStatus.QueueFull;
        DocaError rc;
        if ((c.Gone | bit) == 3)
        {
            rc = _ctPipe!.TryRemoveConnection(c.Queue, c.Entry);
            if (rc != DocaError.Success)
                return Rejected(op, rc, "doca_flow_ct_rm_entry");
            c.Removing = true;
        }
        else
        {
            // The other direction stays: this one's packets go to the host from now on.
            var toHost = new DocaFlowAction { Fate = DocaFate.Software };
            DocaConnectionSpec spec = bit == 1 ? c.Spec with { OriginAction = toHost } : c.Spec with { ReplyAction = toHost };
            rc = _ctPipe!.TryUpdateConnection(c.Queue, c.Entry, spec);
            if (rc != DocaError.Success)
                return Rejected(op, rc, "doca_flow_ct_update_entry");
            c.Spec = spec;
        }
        c.Gone |= bit;
        _ctFifos[c.Queue].Enqueue(new CtPending(FlowOperationKind.Remove, conn, bit, op.Cookie, op.Cookie, Internal: false));
        return SubmitStatus.Accepted;
    }

    // A flow whose partner did not come by this poll goes in as a plain entry.
    private void FlushHalfConnections()
    {
        if (_halves.Count == 0)
            return;
        foreach (ConnectionId id in new List<ConnectionId>(_halves.Keys))
        {
            Half waiting = _halves[id];
            if (waiting.PartnerPushedBack && waiting.Polls < MaxHalfPolls)
            {
                _halves[id] = waiting with { Polls = waiting.Polls + 1 };
                continue;
            }
            if (SubmitAdd(waiting.Op) == SubmitStatus.QueueFull)
                return; // the rest next poll
            _halves.Remove(id);
        }
    }

    private void DriveConnections(ushort queue, uint max)
    {
        for (int i = _ctReleases.Count - 1; i >= 0; i--)
        {
            (int conn, DocaEntry entry) = _ctReleases[i];
            ref CtConn c = ref _conns[conn];
            if (!c.Live || c.Entry != entry)
            {
                _ctReleases.RemoveAt(i); // a caller's removal queued before the failed add's completion freed it
                continue;
            }
            if (_ctFifos[c.Queue].Count >= _options.QueueDepth)
                continue;
            DocaError rc = _ctPipe!.TryRemoveConnection(c.Queue, c.Entry);
            if (rc.IsDeviceFatal())
                throw ThrowHelper.Create(rc, "doca_flow_ct_rm_entry");
            if (rc != DocaError.Success)
                continue;
            _ctFifos[c.Queue].Enqueue(new CtPending(FlowOperationKind.Remove, conn, 3, 0, 0, Internal: true));
            _ctReleases.RemoveAt(i);
        }
        _flow.ProcessConnectionTrackingCompletions(_ports[0], queue, max);
    }

    // Runs inside ct_entries_process / aging_handle on the polling thread, under _gate.
    private void OnConnectionCompletion(in DocaCompletion completion)
    {
        int conn = (int)(completion.Cookie & ~CtCookieTag);
        if ((uint)conn >= (uint)_nextConn)
            return;
        ref CtConn c = ref _conns[conn];
        if (completion.Operation == DocaEntryOperation.Aged)
        {
            if (c.Live && c.Installed && !c.Removing && c.Entry == completion.Entry)
            {
                string detail = $"connection idle for more than {c.Spec.TimeoutSeconds} s";
                if ((c.Gone & 1) == 0)
                    _ready.Enqueue(new FlowCompletion { Kind = FlowOperationKind.Remove, Key = c.Origin, Status = FlowCompletionStatus.Aged, Detail = detail });
                if ((c.Gone & 2) == 0)
                    _ready.Enqueue(new FlowCompletion { Kind = FlowOperationKind.Remove, Key = c.Reply, Status = FlowCompletionStatus.Aged, Detail = detail });
            }
            return;
        }
        if (!_ctFifos[completion.Queue].TryDequeue(out CtPending op))
            return;
        c = ref _conns[op.Conn];
        bool ok = completion.Status == DocaEntryStatus.Success;
        if (!ok)
            Interlocked.Increment(ref _errorCompletions);
        if (op.Internal)
        {
            if (ok)
                FreeConn(op.Conn);
            else
                _ctReleases.Add((op.Conn, c.Entry));
            return;
        }
        switch (op.Kind)
        {
            case FlowOperationKind.Add when ok:
                c.Installed = true;
                _installed += 2;
                Complete(FlowOperationKind.Add, c.Origin, op.OriginCookie, null);
                Complete(FlowOperationKind.Add, c.Reply, op.ReplyCookie, null);
                return;
            case FlowOperationKind.Add:
                // Not installed, but the entry holds its CT slot until removed.
                _connOf.Remove(c.Origin);
                _connOf.Remove(c.Reply);
                c.Removing = true;
                _ctReleases.Add((op.Conn, c.Entry));
                Complete(FlowOperationKind.Add, c.Origin, op.OriginCookie, "the device completed the connection's add with an error");
                Complete(FlowOperationKind.Add, c.Reply, op.ReplyCookie, "the device completed the connection's add with an error");
                return;
            case FlowOperationKind.Update:
                Complete(FlowOperationKind.Update, op.Dirs == 1 ? c.Origin : c.Reply, op.OriginCookie, ok ? null : "the device completed the update with an error");
                return;
            default:
            {
                FlowKey key = op.Dirs == 1 ? c.Origin : c.Reply;
                if (!ok)
                {
                    c.Gone &= (byte)~op.Dirs;
                    c.Removing = false;
                    Complete(FlowOperationKind.Remove, key, op.OriginCookie, "the device completed the removal with an error");
                    return;
                }
                _installed -= c.Installed ? 1 : 0;
                if (completion.Operation == DocaEntryOperation.Remove)
                {
                    // The entry is gone: both keys are free (the first direction's removal already answered).
                    _connOf.Remove(c.Origin);
                    _connOf.Remove(c.Reply);
                    FreeConn(op.Conn);
                }
                Complete(FlowOperationKind.Remove, key, op.OriginCookie, null);
                return;
            }
        }
    }

    private void Complete(FlowOperationKind kind, in FlowKey key, long cookie, string? error)
    {
        if (error is not null)
            SetHealth(BackendHealth.Degraded, error);
        _ready.Enqueue(new FlowCompletion
        {
            Kind = kind, Key = key, Cookie = cookie, Status = error is null ? FlowCompletionStatus.Success : FlowCompletionStatus.Failed,
            Detail = error, IsTransient = error is not null,
        });
    }

    private bool TryQueryConnectionCounters(in FlowKey key, out FlowStats stats)
    {
        stats = default;
        int conn = _connOf[key];
        ref CtConn c = ref _conns[conn];
        byte bit = DirBit(conn, key);
        if (!c.Installed || (c.Gone & bit) != 0 || _ctPipe!.TryQueryConnection(c.Queue, c.Entry, out DocaConnectionStats s) != DocaError.Success)
            return false;
        DocaCounters d = bit == 1 ? s.Origin : s.Reply;
        stats = new FlowStats((long)d.Packets, (long)d.Bytes, 0);
        return true;
    }

    private int AllocateConn()
    {
        if (_freeConns.Count > 0)
            return _freeConns.Pop();
        if (_nextConn == _conns.Length)
            Array.Resize(ref _conns, _conns.Length * 2);
        return _nextConn++;
    }

    private void FreeConn(int conn)
    {
        if (_conns[conn].Spec.TimeoutSeconds != 0)
            _ctAging--;
        _conns[conn] = default;
        _freeConns.Push(conn);
    }

    // Device failure: every pending CT operation fails, every CT entry is lost with the device.
    private void FailConnections(DocaError rc, string reason)
    {
        foreach (Queue<CtPending> fifo in _ctFifos)
        {
            while (fifo.TryDequeue(out CtPending op))
            {
                if (op.Internal)
                    continue;
                ref CtConn c = ref _conns[op.Conn];
                string detail = "device failed before the operation completed: " + reason;
                if (op.Kind == FlowOperationKind.Add)
                {
                    Fail(op.Kind, c.Origin, op.OriginCookie, rc, detail);
                    Fail(op.Kind, c.Reply, op.ReplyCookie, rc, detail);
                }
                else
                {
                    Fail(op.Kind, op.Dirs == 1 ? c.Origin : c.Reply, op.OriginCookie, rc, detail);
                }
            }
        }
        foreach (Half half in _halves.Values)
            Fail(FlowOperationKind.Add, half.Op.Key, half.Op.Cookie, rc, "device failed before the flow was submitted: " + reason);
        _halves.Clear();
        _connOf.Clear();
        _ctReleases.Clear();
        _freeConns.Clear();
        Array.Clear(_conns);
        _nextConn = 0;
        _ctAging = 0;
    }

    private void Fail(FlowOperationKind kind, in FlowKey key, long cookie, DocaError rc, string detail) =>
        _ready.Enqueue(new FlowCompletion { Kind = kind, Key = key, Cookie = cookie, Status = FlowCompletionStatus.Failed, ErrorCode = (int)rc, Detail = detail });

    [StructLayout(LayoutKind.Auto)]
    private struct CtConn
    {
        public FlowKey Origin;
        public FlowKey Reply;
        public DocaEntry Entry;
        public DocaConnectionSpec Spec;
        public FlowAction OriginAction; // as the caller gave them, for listings
        public FlowAction ReplyAction;
        public ConnectionId Connection;
        public long OriginCookie;
        public long ReplyCookie;
        public ushort Queue;
        public bool Live;
        public bool Installed;
        public bool Removing;
        public byte Gone; // directions removed by the caller: 1 origin, 2 reply
    }

    // A connection's first flow, waiting for the second.
    private readonly record struct Half(FlowOperation Op, int Polls, bool PartnerPushedBack);

    // Dirs: which directions the operation answers for (1 origin, 2 reply, 3 both); for a one-direction operation
    // both cookies are that operation's.
    private readonly record struct CtPending(FlowOperationKind Kind, int Conn, byte Dirs, long OriginCookie, long ReplyCookie, bool Internal);
}
