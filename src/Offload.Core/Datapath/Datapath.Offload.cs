using Offload.Backends;
using Offload.Backends.Software;
using Offload.Conntrack;
using Offload.Flows;
using Offload.Packets;

namespace Offload.Datapath;

// Driving a hardware backend. Frames that reach the host are looked up in the backend's host table; flows the
// device holds are never seen here, so their connections are kept alive from the device's counters (read when a
// connection nears expiry) and ended by the device's aging reports.
public sealed partial class Datapath
{
    private readonly bool _ownsHostTable;
    private readonly PriorityQueue<ConnectionId, long> _deviceWatch = new();
    private readonly Dictionary<ConnectionId, DeviceSeen> _deviceSeen = new();
    private readonly Queue<FlowKey> _agedFlows = new();
    private long _deviceCredits, _deviceAgedConnections;

    /// <summary>The backend flows are installed into: the software backend, or a hardware backend whose
    /// <see cref="FlowBackend.HostTable"/> is <see cref="Backend"/>.</summary>
    public FlowBackend OffloadBackend => _offload;

    /// <summary>Times the device's counters showed packets the datapath had not seen and refreshed a connection.</summary>
    public long DeviceCounterRefreshes => _deviceCredits;

    /// <summary>Connections ended because the device reported every one of their flows idle for the connection's timeout.</summary>
    public long DeviceAgedConnections => _deviceAgedConnections;

    private bool DeviceBacked => !ReferenceEquals(_offload, _backend);

    // A backend without a host table (every flow on the device) gets an empty private one: frames reaching the
    // host are then all misses, which is what they are.
    private static SoftwareBackend HostTableOf(FlowBackend backend, TimeProvider time, out bool owned)
    {
        if (backend?.HostTable is { } table)
        {
            owned = false;
            return table;
        }
        owned = true;
        return new SoftwareBackend(new SoftwareBackendOptions { Capacity = 16, QueueDepth = 16 }, time);
    }

    private TimeSpan DeviceIdleTimeout(in ConnectionInfo info)
    {
        if (!DeviceBacked || !_options.Offload.DeviceAging || !_offload.Capabilities.SupportsAging)
            return TimeSpan.Zero;
        return FullTimeout(in info);
    }

    // The timeout the connection's current state gets on a packet (what the device must see it idle for).
    private TimeSpan FullTimeout(in ConnectionInfo info)
    {
        var t = _options.Conntrack.Timeouts;
        int seconds = info.Protocol switch
        {
            IpProtocol.Tcp => t.ForTcpState(info.State),
            IpProtocol.Udp => info.Assured ? t.UdpStream : t.Udp,
            IpProtocol.Icmp or IpProtocol.IcmpV6 => t.Icmp,
            _ => t.Generic,
        };
        return TimeSpan.FromSeconds(Math.Max(seconds, 1));
    }

    private void WatchDeviceConnection(ConnectionId id, in ConnectionInfo info, TimeSpan idle)
    {
        if (!DeviceBacked)
            return;
        ref var seen = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_deviceSeen, id, out bool exists);
        if (!exists)
        {
            seen.IdleSeconds = (int)Math.Ceiling(idle.TotalSeconds);
            _deviceWatch.Enqueue(id, CheckTime(_time.GetTimestamp(), Ticks(info.TimeoutRemaining)));
        }
    }

    private void ForgetDeviceConnection(ConnectionId id)
    {
        if (_deviceSeen.Count != 0)
            _deviceSeen.Remove(id); // the watch entry finds the id stale and drops itself
    }

    // Called from completion handling, possibly inside a conntrack notification: only queue; Poll does the work.
    private void OnFlowAged(in FlowCompletion completion)
    {
        var key = completion.Key;
        bool dropFlow = _dropFlows.Contains(key) || (_backend.TryLookup(key, out _, out var entry) && entry.Connection.IsNone);
        if (dropFlow)
        {
            // Untracked (drop) flows age out here; tracked ones live as long as their connection.
            Submit(FlowOperation.Remove(key));
            _dropFlows.Remove(key);
            _flowsRemoved++;
            return;
        }
        if (DeviceBacked)
            _agedFlows.Enqueue(key);
    }

    // Poll, before expiry: aging reports first, then the connections whose expiry is near. A connection is
    // looked at from DeviceCounterLead before its expiry on, so Poll must run more often than that: a credit
    // arriving after the deadline finds the connection already over.
    private int KeepDeviceConnectionsAlive()
    {
        if (_agedFlows.Count == 0 && _deviceWatch.Count == 0)
            return 0;
        // Aging reports waiting in the backend are taken now, so they are weighed before expiry runs.
        int work = DrainBackend();
        long now = _time.GetTimestamp();
        if (_deviceWatch.Count > 2 * _deviceSeen.Count + 1024)
            RebuildDeviceWatch(now);
        while (_agedFlows.TryDequeue(out var key))
        {
            work++;
            HandleAged(in key, now);
        }
        while (_deviceWatch.TryPeek(out var id, out long due) && due <= now)
        {
            _deviceWatch.Dequeue();
            work++;
            if (!_deviceSeen.ContainsKey(id) || !_conntrack.TryGet(id, out var info))
                continue;
            ref var record = ref RecordOf(id);
            if (record.Id != id || record.Installed == 0)
            {
                _deviceSeen.Remove(id);
                continue;
            }
            long remaining = Ticks(info.TimeoutRemaining);
            if (remaining <= LeadTicks && Credit(id, ref record, in info, now) && _conntrack.TryGet(id, out info))
                remaining = Ticks(info.TimeoutRemaining);
            _deviceWatch.Enqueue(id, CheckTime(now, remaining));
        }
        return work;
    }

    // Removed connections leave their watch entries behind until those come due, which for a long timeout is far
    // off: when they outnumber the live ones, start again from the live ones.
    private void RebuildDeviceWatch(long now)
    {
        _deviceWatch.Clear();
        foreach (var id in _deviceSeen.Keys)
        {
            if (_conntrack.TryGet(id, out var info))
                _deviceWatch.Enqueue(id, CheckTime(now, Ticks(info.TimeoutRemaining)));
        }
    }

    /// <summary>Watch entries pending (tests: stale ones must not pile up).</summary>
    internal int DeviceWatchCount => _deviceWatch.Count;

    private void HandleAged(in FlowKey key, long now)
    {
        if (!_conntrack.TryLookup(key, out var id, out var direction) || !_conntrack.TryGet(id, out var info))
            return;
        ref var record = ref RecordOf(id);
        if (record.Id != id || !_deviceSeen.ContainsKey(id))
            return;
        Credit(id, ref record, in info, now); // clears the aged mark of a direction that has seen packets since
        ref var seen = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrNullRef(_deviceSeen, id);
        if (System.Runtime.CompilerServices.Unsafe.IsNullRef(ref seen))
            return;
        // Counters that moved in this very poll outrank a report made before they did.
        bool original = direction == ConnDirection.Original;
        if ((original ? seen.OriginalActive : seen.ReplyActive) != now)
            seen.Aged |= original ? InstalledOriginal : InstalledReply;
        if ((seen.Aged & record.Installed) != record.Installed)
            return;
        // Every flow of the connection sat idle on the device for its idle timeout, and nothing refreshed the
        // connection here. An idle timeout shorter than the state's (the state moved on since install) proves
        // nothing: conntrack's own expiry, fed by the counters, decides then.
        if (!_conntrack.TryGet(id, out info) || seen.IdleSeconds < FullTimeout(in info).TotalSeconds
            || _backend.TryLookup(info.Original, out _, out _) || _backend.TryLookup(info.Reply, out _, out _))
            return;
        _deviceAgedConnections++;
        _conntrack.Remove(id, ConntrackRemoveReason.Timeout); // the observer removes both flows from the device
    }

    // Credits packets the device forwarded since the last read to the connection. True when a refresh was accepted.
    private bool Credit(ConnectionId id, ref ConnectionRecord record, in ConnectionInfo info, long now)
    {
        ref var seen = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrNullRef(_deviceSeen, id);
        if (System.Runtime.CompilerServices.Unsafe.IsNullRef(ref seen))
            return false;
        bool refreshed = false;
        if ((record.Installed & InstalledOriginal) != 0)
            refreshed |= CreditDirection(id, ConnDirection.Original, info.Original, info.Protocol, ref seen.OriginalPackets, ref seen.OriginalBytes, ref seen, InstalledOriginal, now);
        if ((record.Installed & InstalledReply) != 0)
            refreshed |= CreditDirection(id, ConnDirection.Reply, info.Reply, info.Protocol, ref seen.ReplyPackets, ref seen.ReplyBytes, ref seen, InstalledReply, now);
        return refreshed;
    }

    private bool CreditDirection(ConnectionId id, ConnDirection direction, in FlowKey key, byte protocol,
        ref long seenPackets, ref long seenBytes, ref DeviceSeen seen, byte bit, long now)
    {
        // Served from the host table: the datapath counted its packets itself.
        if (_backend.TryLookup(key, out _, out _) || !_offload.TryQueryCounters(key, out var stats))
            return false;
        long packets = stats.Packets - seenPackets;
        long bytes = stats.Bytes - seenBytes;
        if (packets < 0 || bytes < 0)
        {
            // The device's counters started again (the flow was re-added after a device failure).
            packets = stats.Packets;
            bytes = stats.Bytes;
        }
        seenPackets = stats.Packets;
        seenBytes = stats.Bytes;
        if (packets <= 0)
            return false;
        seen.Aged &= (byte)~bit;
        if (bit == InstalledOriginal)
            seen.OriginalActive = now;
        else
            seen.ReplyActive = now;
        // The device tells how much, not which flags: a bare ACK keeps a TCP connection in its state and refreshes
        // it (what the device can forward is an established connection's traffic). Conntrack counts it as one packet.
        var flags = protocol == IpProtocol.Tcp ? TcpFlags.Ack : TcpFlags.None;
        var update = _conntrack.Update(id, direction, flags, 0, (int)Math.Min(bytes, int.MaxValue), now);
        if (update.Verdict != ConntrackVerdict.Accept)
            return false;
        _deviceCredits++;
        return true;
    }

    private long LeadTicks => Ticks(_options.Offload.DeviceCounterLead);

    // When to look at a connection next: when its expiry is within the lead; while it is, a few times before it
    // expires (and once in the Poll that expires it, before expiry runs).
    private long CheckTime(long now, long remaining)
    {
        long lead = LeadTicks;
        long wait = remaining > lead ? remaining - lead : Math.Min(remaining, Math.Max(lead / 4, 1));
        return now + Math.Max(wait, 1);
    }

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);

    private struct DeviceSeen
    {
        public long OriginalPackets;
        public long OriginalBytes;
        public long ReplyPackets;
        public long ReplyBytes;
        public long OriginalActive; // when the counters were last seen moving
        public long ReplyActive;
        public int IdleSeconds;
        public byte Aged; // InstalledOriginal / InstalledReply bits reported idle and not hit since
    }
}
