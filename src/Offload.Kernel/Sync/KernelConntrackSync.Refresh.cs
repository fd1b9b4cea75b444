using Offload.Conntrack;
using Offload.Datapath;
using Offload.Flows;
using Offload.Kernel.Conntrack;
using Offload.Kernel.Netlink;
using Offload.Packets;

namespace Offload.Kernel.Sync;

// Datapath → kernel: connections the fast path carried get their kernel timeout set again. Activity arrives on the
// datapath's thread and is only copied there; the sync thread merges it per connection (the latest wins) and sends
// timeout updates under a token bucket.
public sealed partial class KernelConntrackSync
{
    private readonly object _inboxGate = new();
    private List<ConnectionActivity> _inbox = new();
    private List<ConnectionActivity> _draining = new();
    private readonly Dictionary<FlowKey, ConnectionActivity> _due = new();
    private double _tokens;
    private long _lastRefill;
    private long _timeoutsRefreshed, _refreshesNotFound, _refreshesExpired, _activityDropped;
    private int _refreshesWaiting;

    /// <inheritdoc/>
    public void OnActivity(ReadOnlySpan<ConnectionActivity> connections, bool endOfReport)
    {
        if (connections.IsEmpty)
            return;
        lock (_inboxGate)
        {
            int room = _options.MaxPendingActivity - _inbox.Count;
            if (room < connections.Length)
            {
                Interlocked.Add(ref _activityDropped, connections.Length - Math.Max(room, 0));
                connections = connections.Slice(0, Math.Max(room, 0));
            }
            _inbox.AddRange(connections);
        }
    }

    /// <summary>
    /// The kernel timeout, in seconds, for a connection the fast path carried: its state's timeout in
    /// <paramref name="timeouts"/>, less the time it has been idle; 0 when it has idled past it (nothing to refresh).
    /// </summary>
    public static uint KernelTimeoutSeconds(ConntrackTimeouts timeouts, in ConnectionActivity activity, TimeSpan idle)
    {
        ArgumentNullException.ThrowIfNull(timeouts);
        int full = activity.Original.Protocol switch
        {
            IpProtocol.Tcp => timeouts.ForTcpState(activity.State),
            IpProtocol.Udp or UdpLite => activity.State == ConnState.Assured ? timeouts.UdpStream : timeouts.Udp,
            IpProtocol.Icmp or IpProtocol.IcmpV6 => timeouts.Icmp,
            _ => timeouts.Generic,
        };
        double left = full - Math.Max(0, idle.TotalSeconds);
        return left < 1 ? 0 : (uint)left;
    }

    private const byte UdpLite = 136;

    private void ForgetRefresh(in FlowKey key)
    {
        if (_due.Remove(key))
            Volatile.Write(ref _refreshesWaiting, _due.Count);
    }

    private void RefreshTimeouts()
    {
        lock (_inboxGate)
            (_inbox, _draining) = (_draining, _inbox);
        foreach (ConnectionActivity a in _draining)
        {
            if (!_due.TryGetValue(a.Original, out ConnectionActivity known) || known.LastSeenTicks <= a.LastSeenTicks)
                _due[a.Original] = a;
        }
        _draining.Clear();

        long now = _time.GetTimestamp();
        int rate = _options.MaxTimeoutUpdatesPerSecond;
        _tokens = Math.Min(rate, _tokens + (double)(now - _lastRefill) / _time.TimestampFrequency * rate);
        _lastRefill = now;
        foreach ((FlowKey key, ConnectionActivity activity) in _due)
        {
            if (_tokens < 1 || _stopping)
                break;
            _due.Remove(key);
            uint seconds = KernelTimeoutSeconds(_options.Timeouts, in activity, _time.GetElapsedTime(activity.LastSeenTicks));
            if (seconds == 0)
            {
                Interlocked.Increment(ref _refreshesExpired);
                continue;
            }
            _tokens--;
            SetTimeout(in key, seconds);
        }
        Volatile.Write(ref _refreshesWaiting, _due.Count);
    }

    private void SetTimeout(in FlowKey key, uint seconds)
    {
        try
        {
            // The kernel's original tuple is the datapath's original 5-tuple: the packet entered the kernel before NAT.
            _client!.SetTimeout(ConntrackTuple.FromFlowKey(key), seconds, _options.Zone);
            Interlocked.Increment(ref _timeoutsRefreshed);
        }
        catch (NetlinkException e) when (e.Errno == Interop.Sys.Errno.ENOENT)
        {
            // Gone from the kernel: its DESTROY removes the datapath's connection.
            Interlocked.Increment(ref _refreshesNotFound);
        }
        catch (NetlinkException e)
        {
            // One refused update (the next report brings the connection again) must not stop the others.
            Interlocked.Increment(ref _errors);
            Volatile.Write(ref _lastError, e.Message);
        }
    }
}
