using System.Runtime.InteropServices;

namespace Offload.Kernel.Netlink;

/// <summary>
/// A netlink socket bound in the network namespace of the thread that opened it. Requests are numbered; replies are
/// matched by sequence number and accepted only from the kernel (sender port id 0). Not thread-safe.
/// </summary>
public sealed class NetlinkSocket : IDisposable
{
    private const int MsgTrunc = 0x20;
    private const int MsgDontWait = 0x40;
    private readonly SafeNetlinkHandle _handle;
    private readonly byte[] _receiveBuffer;
    private uint _sequence;

    private NetlinkSocket(SafeNetlinkHandle handle, int receiveBufferSize)
    {
        _handle = handle;
        _receiveBuffer = new byte[receiveBufferSize];
        // Distinct per process so replies meant for another socket of another process are easy to tell apart in traces.
        _sequence = (uint)Environment.ProcessId << 16;
    }

    /// <summary>Datagrams dropped because their sender was not the kernel.</summary>
    public long RejectedNotFromKernel { get; private set; }

    /// <summary>Whether the last dump was flagged by the kernel as interrupted (possibly inconsistent).</summary>
    public bool LastDumpInterrupted { get; private set; }

    /// <summary>Opens and binds a netlink socket of a protocol family (e.g. <see cref="NetlinkConstants.ProtocolNetfilter"/>).</summary>
    /// <param name="protocol">The NETLINK_* protocol.</param>
    /// <param name="receiveTimeout">How long a receive may block before failing with EAGAIN (default 5 s; <see cref="TimeSpan.Zero"/> waits forever); keeps a lost reply from hanging the caller.</param>
    /// <param name="receiveBufferSize">Size of the buffer one datagram is read into.</param>
    public static unsafe NetlinkSocket Open(int protocol, TimeSpan? receiveTimeout = null, int receiveBufferSize = 64 * 1024)
    {
        if (!OperatingSystem.IsLinux())
            throw new PlatformNotSupportedException("Netlink sockets exist only on Linux.");
        int fd = Interop.Sys.Socket(NetlinkConstants.AddressFamilyNetlink,
            NetlinkConstants.SocketRaw | NetlinkConstants.SocketCloseOnExec, protocol);
        if (fd < 0)
            throw new NetlinkException("socket(AF_NETLINK)", Marshal.GetLastPInvokeError());
        var handle = new SafeNetlinkHandle(fd);
        try
        {
            var address = new Interop.Sys.SockAddrNl { Family = NetlinkConstants.AddressFamilyNetlink };
            if (Interop.Sys.Bind(handle, &address, (uint)sizeof(Interop.Sys.SockAddrNl)) != 0)
                throw new NetlinkException("bind(AF_NETLINK)", Marshal.GetLastPInvokeError());
            TimeSpan timeout = receiveTimeout ?? TimeSpan.FromSeconds(5);
            long* tv = stackalloc long[2];
            tv[0] = (long)timeout.TotalSeconds;
            tv[1] = timeout.Milliseconds * 1000L;
            if (Interop.Sys.SetSockOpt(handle, NetlinkConstants.SolSocket, NetlinkConstants.SoRcvTimeout, tv, 16) != 0)
                throw new NetlinkException("setsockopt(SO_RCVTIMEO)", Marshal.GetLastPInvokeError());
            // Without CAP_ACK every acknowledgement echoes the whole request; failure only costs bandwidth.
            int one = 1;
            _ = Interop.Sys.SetSockOpt(handle, NetlinkConstants.SolNetlink, NetlinkConstants.OptCapAck, &one, sizeof(int));
            return new NetlinkSocket(handle, receiveBufferSize);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>The next request sequence number.</summary>
    public uint NextSequence() => ++_sequence;

    /// <summary>Joins a multicast group (e.g. conntrack events).</summary>
    public unsafe void JoinGroup(int group)
    {
        if (Interop.Sys.SetSockOpt(_handle, NetlinkConstants.SolNetlink, NetlinkConstants.OptAddMembership, &group, sizeof(int)) != 0)
            throw new NetlinkException($"join netlink group {group}", Marshal.GetLastPInvokeError());
    }

    /// <summary>The port id the kernel assigned to this socket.</summary>
    public unsafe uint LocalPortId
    {
        get
        {
            var address = default(Interop.Sys.SockAddrNl);
            uint length = (uint)sizeof(Interop.Sys.SockAddrNl);
            if (Interop.Sys.GetSockName(_handle, &address, &length) != 0)
                throw new NetlinkException("getsockname(netlink)", Marshal.GetLastPInvokeError());
            return address.PortId;
        }
    }

    /// <summary>Sends one datagram to the kernel.</summary>
    public void Send(ReadOnlySpan<byte> datagram) => SendTo(datagram, 0);

    // A port id other than 0 addresses another user-space socket; only tests do that, to play a spoofing peer.
    internal unsafe void SendTo(ReadOnlySpan<byte> datagram, uint portId)
    {
        var kernel = new Interop.Sys.SockAddrNl { Family = NetlinkConstants.AddressFamilyNetlink, PortId = portId };
        fixed (byte* p = datagram)
        {
            while (true)
            {
                nint sent = Interop.Sys.SendTo(_handle, p, (nuint)datagram.Length, 0, &kernel, (uint)sizeof(Interop.Sys.SockAddrNl));
                if (sent >= 0)
                    return;
                int errno = Marshal.GetLastPInvokeError();
                if (errno != Interop.Sys.Errno.EINTR)
                    throw new NetlinkException("sendto(netlink)", errno);
            }
        }
    }

    /// <summary>
    /// Receives one datagram from the kernel into the socket's buffer, skipping (and counting) datagrams from any
    /// other sender. Throws <see cref="NetlinkException"/> with the errno (EAGAIN on timeout, ENOBUFS when the
    /// kernel dropped messages because the socket buffer was full).
    /// </summary>
    public ReadOnlySpan<byte> ReceiveFromKernel()
    {
        int errno = TryReceiveFromKernel(out ReadOnlySpan<byte> datagram);
        if (errno != 0)
            throw new NetlinkException("recvfrom(netlink)", errno);
        return datagram;
    }

    /// <summary>
    /// Like <see cref="ReceiveFromKernel"/> but returns the errno instead of throwing (0 on success), for listeners
    /// where a timeout or ENOBUFS is an expected outcome. A datagram larger than the buffer returns EMSGSIZE.
    /// With <paramref name="wait"/> false only what is already queued is read: EAGAIN at once when nothing is.
    /// </summary>
    public unsafe int TryReceiveFromKernel(out ReadOnlySpan<byte> datagram, bool wait = true)
    {
        int flags = wait ? MsgTrunc : MsgTrunc | MsgDontWait;
        datagram = default;
        while (true)
        {
            var source = default(Interop.Sys.SockAddrNl);
            uint sourceLength = (uint)sizeof(Interop.Sys.SockAddrNl);
            nint received;
            fixed (byte* p = _receiveBuffer)
                received = Interop.Sys.RecvFrom(_handle, p, (nuint)_receiveBuffer.Length, flags, &source, &sourceLength);
            if (received < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == Interop.Sys.Errno.EINTR)
                    continue;
                return errno;
            }
            if (received > _receiveBuffer.Length)
                return Interop.Sys.Errno.EMSGSIZE;
            if (source.PortId != 0)
            {
                RejectedNotFromKernel++;
                continue;
            }
            datagram = _receiveBuffer.AsSpan(0, (int)received);
            return 0;
        }
    }

    /// <summary>Sets SO_RCVBUF: how much the kernel queues for this socket before it drops messages (ENOBUFS).</summary>
    public unsafe void SetReceiveBufferSize(int bytes)
    {
        if (Interop.Sys.SetSockOpt(_handle, NetlinkConstants.SolSocket, NetlinkConstants.SoRcvBuf, &bytes, sizeof(int)) != 0)
            throw new NetlinkException("setsockopt(SO_RCVBUF)", Marshal.GetLastPInvokeError());
    }

    /// <summary>Sends a request that carries <see cref="NetlinkConstants.FlagAck"/> and waits for its acknowledgement.</summary>
    public void Request(ReadOnlySpan<byte> request, uint sequence, string operation) =>
        Transact(request, sequence, operation, 0, static (_, _) => { }, dump: false);

    /// <summary>Sends a dump request and hands every data message to <paramref name="handler"/> until NLMSG_DONE.</summary>
    public void Dump<TState>(ReadOnlySpan<byte> request, uint sequence, string operation, TState state, NetlinkMessageHandler<TState> handler) =>
        Transact(request, sequence, operation, state, handler, dump: true);

    private void Transact<TState>(ReadOnlySpan<byte> request, uint sequence, string operation, TState state,
        NetlinkMessageHandler<TState> handler, bool dump)
    {
        LastDumpInterrupted = false;
        Send(request);
        while (true)
        {
            var reader = new NetlinkMessageReader(ReceiveFromKernel());
            while (reader.TryRead(out NetlinkMessage message))
            {
                // Replies to an earlier request that timed out may still arrive; they are not ours.
                if (message.Sequence != sequence)
                    continue;
                if ((message.Flags & NetlinkConstants.FlagDumpInterrupted) != 0)
                    LastDumpInterrupted = true;
                switch (message.Type)
                {
                    case NetlinkConstants.MsgError:
                        if (!NetlinkMessageReader.TryReadError(message.Payload, out int errno))
                            throw new NetlinkException(operation, NetlinkParseError.TruncatedHeader);
                        if (errno != 0)
                            throw new NetlinkException(operation, errno);
                        if (!dump)
                            return;
                        break;
                    case NetlinkConstants.MsgDone:
                        if (dump)
                            return;
                        break;
                    case NetlinkConstants.MsgNoop:
                        break;
                    case NetlinkConstants.MsgOverrun:
                        throw new NetlinkException(operation, Interop.Sys.Errno.ENOBUFS);
                    default:
                        handler(state, message);
                        break;
                }
            }
            if (reader.Error != NetlinkParseError.None)
                throw new NetlinkException(operation, reader.Error);
        }
    }

    /// <inheritdoc />
    public void Dispose() => _handle.Dispose();
}
