using Offload.Actions;
using Offload.Backends;
using Offload.Backends.Software;
using Offload.Conntrack;
using Offload.Doca.Flow;
using Offload.Flows;

namespace Offload.Doca.Backends;

// Listing what the device holds, for flow dumps: the host table lists only what reaches the host.
public sealed partial class DocaBackend
{
    /// <summary>
    /// Every flow this backend holds: plain entries and both directions of Flow CT connections, with the device's
    /// counters. A flow whose add has not completed, or that waits for its connection's other direction, is listed
    /// with <see cref="NotOffloadedReason.Pending"/>. A snapshot for operators, not for the packet path.
    /// </summary>
    public IReadOnlyList<PlacedFlow> SnapshotFlows()
    {
        lock (_gate)
        {
            var rows = new List<PlacedFlow>(_slotOf.Count + _connOf.Count + _halves.Count);
            if (_disposed)
                return rows;
            foreach (int slot in _slotOf.Values)
            {
                ref Slot s = ref _slots[slot];
                if (s.Removing)
                    continue;
                var stats = default(FlowStats);
                if (s.Installed && DocaPipe.TryQueryCounters(s.Entry, out DocaCounters c) == DocaError.Success)
                    stats = new FlowStats((long)c.Packets, (long)c.Bytes, 0);
                rows.Add(Row(s.Key, s.Action, s.Connection, s.Direction, stats, s.Installed, "add in flight"));
            }
            var seen = new HashSet<int>();
            foreach (int conn in _connOf.Values)
            {
                if (!seen.Add(conn))
                    continue;
                ref CtConn c = ref _conns[conn];
                if (c.Removing)
                    continue;
                var counters = default(DocaConnectionStats);
                bool read = c.Installed && _ctPipe!.TryQueryConnection(c.Queue, c.Entry, out counters) == DocaError.Success;
                if ((c.Gone & 1) == 0)
                {
                    rows.Add(Row(c.Origin, c.OriginAction, c.Connection, ConnDirection.Original,
                        read ? new FlowStats((long)counters.Origin.Packets, (long)counters.Origin.Bytes, 0) : default, c.Installed, "connection add in flight"));
                }
                if ((c.Gone & 2) == 0)
                {
                    rows.Add(Row(c.Reply, c.ReplyAction, c.Connection, ConnDirection.Reply,
                        read ? new FlowStats((long)counters.Reply.Packets, (long)counters.Reply.Bytes, 0) : default, c.Installed, "connection add in flight"));
                }
            }
            foreach (Half h in _halves.Values)
            {
                FlowOperation op = h.Op;
                rows.Add(Row(op.Key, op.Action, op.Connection, op.Direction, default, installed: false, "waiting for the connection's other direction"));
            }
            return rows;
        }
    }

    private static PlacedFlow Row(in FlowKey key, in FlowAction action, ConnectionId connection, ConnDirection direction, FlowStats stats,
        bool installed, string pending) =>
        new(new InstalledFlow(key, action, connection, direction, stats),
            installed
                ? new FlowPlacementInfo(FlowPlacement.Hardware, NotOffloadedReason.None, null, 0)
                : new FlowPlacementInfo(FlowPlacement.Hardware, NotOffloadedReason.Pending, pending, 0));
}
