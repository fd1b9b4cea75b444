using Offload.Kernel.Netlink;

namespace Offload.Kernel.Conntrack;

/// <summary>
/// Listens to ctnetlink NEW/UPDATE/DESTROY events in the network namespace of the thread that called
/// <see cref="Open"/>. Lost events are reported (<see cref="ConntrackReceiveStatus.Overflow"/>), never hidden.
/// Not thread-safe.
/// </summary>
public sealed class CtnetlinkEventListener : IDisposable
{
    private readonly NetlinkSocket _socket;

    private CtnetlinkEventListener(NetlinkSocket socket) => _socket = socket;

    /// <summary>Events that could not be decoded (skipped).</summary>
    public long MalformedEvents { get; private set; }

    /// <summary>Times the kernel reported lost events.</summary>
    public long Overflows { get; private set; }

    /// <summary>Datagrams dropped because they did not come from the kernel.</summary>
    public long RejectedNotFromKernel => _socket.RejectedNotFromKernel;

    /// <summary>Opens a listener.</summary>
    /// <param name="groups">Which events to receive.</param>
    /// <param name="receiveTimeout">How long <see cref="Receive(List{ConntrackEvent})"/> waits.</param>
    /// <param name="socketBufferBytes">SO_RCVBUF; 0 keeps the system default. A busy host needs megabytes.</param>
    public static CtnetlinkEventListener Open(ConntrackEventGroups groups, TimeSpan receiveTimeout, int socketBufferBytes = 0)
    {
        if (groups == ConntrackEventGroups.None)
            throw new ArgumentException("Join at least one group.", nameof(groups));
        NetlinkSocket socket = NetlinkSocket.Open(NetlinkConstants.ProtocolNetfilter, receiveTimeout);
        try
        {
            if (socketBufferBytes > 0)
                socket.SetReceiveBufferSize(socketBufferBytes);
            if ((groups & ConntrackEventGroups.New) != 0)
                socket.JoinGroup(CtnetlinkConstants.GroupNew);
            if ((groups & ConntrackEventGroups.Update) != 0)
                socket.JoinGroup(CtnetlinkConstants.GroupUpdate);
            if ((groups & ConntrackEventGroups.Destroy) != 0)
                socket.JoinGroup(CtnetlinkConstants.GroupDestroy);
            return new CtnetlinkEventListener(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Waits for one datagram and appends its events to <paramref name="events"/>. Control-plane failures other than
    /// timeout and overflow throw <see cref="NetlinkException"/>.
    /// </summary>
    public ConntrackReceiveStatus Receive(List<ConntrackEvent> events) => Receive(events, wait: true);

    /// <summary>
    /// Like <see cref="Receive(List{ConntrackEvent})"/>, but with <paramref name="wait"/> false reads only a datagram
    /// already queued and returns <see cref="ConntrackReceiveStatus.TimedOut"/> at once when there is none, whatever
    /// the receive timeout.
    /// </summary>
    public ConntrackReceiveStatus Receive(List<ConntrackEvent> events, bool wait)
    {
        ArgumentNullException.ThrowIfNull(events);
        int errno = _socket.TryReceiveFromKernel(out ReadOnlySpan<byte> datagram, wait);
        if (errno == Interop.Sys.Errno.EAGAIN)
            return ConntrackReceiveStatus.TimedOut;
        if (errno == Interop.Sys.Errno.ENOBUFS)
        {
            Overflows++;
            return ConntrackReceiveStatus.Overflow;
        }
        if (errno != 0)
            throw new NetlinkException("conntrack events", errno);
        var reader = new NetlinkMessageReader(datagram);
        while (reader.TryRead(out NetlinkMessage message))
        {
            if (!TryKind(message, out ConntrackEventKind kind))
                continue;
            if (CtnetlinkParser.TryParseEntry(message.Payload, out KernelConntrackEntry entry) == NetlinkParseError.None)
                events.Add(new ConntrackEvent(kind, entry));
            else
                MalformedEvents++;
        }
        if (reader.Error != NetlinkParseError.None)
            MalformedEvents++;
        return ConntrackReceiveStatus.Received;
    }

    // The kernel marks creation with CREATE|EXCL on an IPCTNL_MSG_CT_NEW; any other NEW is an update.
    internal static bool TryKind(NetlinkMessage message, out ConntrackEventKind kind)
    {
        kind = default;
        if (message.Type == CtnetlinkConstants.MessageType(CtnetlinkConstants.MsgDelete))
            kind = ConntrackEventKind.Destroy;
        else if (message.Type != CtnetlinkConstants.MessageType(CtnetlinkConstants.MsgNew))
            return false;
        else
            kind = (message.Flags & (NetlinkConstants.FlagCreate | NetlinkConstants.FlagExclusive)) != 0
                ? ConntrackEventKind.New
                : ConntrackEventKind.Update;
        return true;
    }

    /// <inheritdoc />
    public void Dispose() => _socket.Dispose();
}
