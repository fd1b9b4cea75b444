using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Offload.Kernel.Namespaces;

namespace Offload.Kernel.PacketIo;

/// <summary>
/// An AF_PACKET raw socket bound to one interface, every EtherType (ETH_P_ALL): whole Ethernet frames in and out of a
/// vNIC's host end. Batched with recvmmsg/sendmmsg into a <see cref="PacketBatch"/>: one system call per batch and one
/// copy into buffers we own, which keep headroom for in-place encapsulation and can be held as long as the fast path
/// needs (a TPACKET_V3 ring would save that copy but hands out ring memory that must be returned block by block, and
/// still needs a copy to gain headroom or to forward to another device). Non-blocking; no exceptions or allocation
/// per frame or batch.
/// </summary>
public sealed class PacketSocket : IDisposable
{
    private const int AfPacket = 17;
    private const int SockRawNonBlockCloseOnExec = 3 | 0x800 | 0x80000;
    private const ushort EthPAllNetworkOrder = 0x0300; // htons(ETH_P_ALL)
    private const int SolPacket = 263, PacketAuxData = 8, PacketStatistics = 6, PacketIgnoreOutgoing = 23;
    private const uint StatusVlanValid = 0x10, StatusVlanTpidValid = 0x40; // TP_STATUS_VLAN_*
    private const int SolSocket = 1, SoRcvBuf = 8, SoRcvBufForce = 33;
    private const int MsgTrunc = 0x20;
    private readonly SafeFileHandle _handle;
    private readonly bool _restoreVlanTags;
    private long _packets, _drops, _truncated;

    private PacketSocket(SafeFileHandle handle, int interfaceIndex, bool restoreVlanTags)
    {
        _handle = handle;
        InterfaceIndex = interfaceIndex;
        _restoreVlanTags = restoreVlanTags;
    }

    /// <summary>The interface the socket is bound to.</summary>
    public int InterfaceIndex { get; }

    /// <summary>The socket descriptor (e.g. to poll on).</summary>
    public SafeFileHandle Handle => _handle;

    /// <summary>The errno of the last failed receive or send other than "nothing waiting" (e.g. ENETDOWN, reported once when the interface goes down).</summary>
    public int LastErrno { get; private set; }

    /// <summary>
    /// Opens a packet socket on interface <paramref name="interfaceIndex"/> of <paramref name="ns"/> (default: the caller's).
    /// </summary>
    /// <param name="interfaceIndex">The interface index in that namespace.</param>
    /// <param name="ns">The namespace the interface is in.</param>
    /// <param name="ignoreOutgoing">Do not receive the frames the host itself sends out of the interface (PACKET_IGNORE_OUTGOING), ours included.</param>
    /// <param name="receiveBufferBytes">SO_RCVBUF(FORCE) in bytes, 0 for the system default; what the kernel queues before it drops.</param>
    /// <param name="restoreVlanTags">
    /// The kernel strips an 802.1Q/802.1ad tag off a received frame into metadata before a packet socket sees it; with
    /// this set (PACKET_AUXDATA) <see cref="Receive"/> puts the tag back, so frames arrive as they were on the wire.
    /// </param>
    public static unsafe PacketSocket Open(int interfaceIndex, NetworkNamespace? ns = null, bool ignoreOutgoing = true, int receiveBufferBytes = 0, bool restoreVlanTags = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(interfaceIndex);
        ArgumentOutOfRangeException.ThrowIfNegative(receiveBufferBytes);
        // Protocol 0 at creation: the socket receives nothing until bind names the interface, so no other device's frames slip in first.
        int fd = NetworkNamespace.RunIn(ns, () => Interop.Sys.Socket(AfPacket, SockRawNonBlockCloseOnExec, 0));
        if (fd < 0)
            throw Failure("socket(AF_PACKET)", Marshal.GetLastPInvokeError());
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            if (ignoreOutgoing)
                SetOption(handle, SolPacket, PacketIgnoreOutgoing, 1, "setsockopt(PACKET_IGNORE_OUTGOING)");
            if (restoreVlanTags)
                SetOption(handle, SolPacket, PacketAuxData, 1, "setsockopt(PACKET_AUXDATA)");
            if (receiveBufferBytes > 0)
                SetOption(handle, SolSocket, SoRcvBufForce, receiveBufferBytes, "setsockopt(SO_RCVBUFFORCE)");
            var address = new Interop.Sys.SockAddrLl { Family = AfPacket, Protocol = EthPAllNetworkOrder, InterfaceIndex = interfaceIndex };
            if (Interop.Sys.BindPacket(handle, &address, (uint)sizeof(Interop.Sys.SockAddrLl)) != 0)
                throw Failure($"bind(AF_PACKET, ifindex {interfaceIndex})", Marshal.GetLastPInvokeError());
            var socket = new PacketSocket(handle, interfaceIndex, restoreVlanTags);
            // Frames queued between socket() and bind() belong to no interface; start the counters clean.
            socket.Drain();
            return socket;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Receives waiting frames into the free slots of <paramref name="batch"/> (from <see cref="PacketBatch.Count"/> on)
    /// and advances its count; returns how many arrived (0 when none was waiting or on an error, see <see cref="LastErrno"/>).
    /// Frames longer than a slot are discarded and counted in <see cref="PacketSocketStatistics.Truncated"/>.
    /// </summary>
    public unsafe int Receive(PacketBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        int first = batch.Count;
        int room = batch.Capacity - first;
        if (room == 0)
            return 0;
        batch.PrepareReceive(first, _restoreVlanTags);
        int n;
        do
            n = Interop.Sys.RecvMmsg(_handle, batch.Headers(first), (uint)room, MsgTrunc, null);
        while (n < 0 && Marshal.GetLastPInvokeError() == Interop.Sys.Errno.EINTR);
        if (n <= 0)
        {
            if (n < 0)
                NoteError(Marshal.GetLastPInvokeError());
            return 0;
        }
        int kept = first;
        for (int i = first; i < first + n; i++)
        {
            ref Interop.Sys.MMsgHdr header = ref batch.Header(i);
            // With MSG_TRUNC the kernel reports a frame's real length, so a frame bigger than its slot is recognised.
            int length = (int)header.Length;
            if ((header.Header.Flags & MsgTrunc) != 0 || length > batch.FrameSize)
            {
                _truncated++;
                continue;
            }
            if (kept != i)
                batch.MoveFrame(i, kept, length);
            else
                batch.SetLength(i, length);
            if (_restoreVlanTags && TryReadVlan(batch.Control(i, (int)header.Header.ControlLength), out ushort tpid, out ushort tci)
                && !batch.TryInsertVlanTag(kept, length, tpid, tci))
            {
                _truncated++;
                continue;
            }
            kept++;
        }
        batch.Count = kept;
        return kept - first;
    }

    /// <summary>
    /// Sends the frames in slots <paramref name="start"/>..<see cref="PacketBatch.Count"/> of <paramref name="batch"/>;
    /// returns how many the kernel took, in order (fewer on a full queue or an error, see <see cref="LastErrno"/>).
    /// </summary>
    public unsafe int Send(PacketBatch batch, int start = 0)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        int count = batch.Count - start;
        if (count <= 0)
            return 0;
        batch.PrepareSend(start, batch.Count);
        int n;
        do
            n = Interop.Sys.SendMmsg(_handle, batch.Headers(start), (uint)count, 0);
        while (n < 0 && Marshal.GetLastPInvokeError() == Interop.Sys.Errno.EINTR);
        if (n < 0)
        {
            NoteError(Marshal.GetLastPInvokeError());
            return 0;
        }
        return n;
    }

    // Finds struct tpacket_auxdata in the control messages and reads the stripped tag, if the kernel stripped one.
    private static bool TryReadVlan(ReadOnlySpan<byte> control, out ushort tpid, out ushort tci)
    {
        tpid = 0;
        tci = 0;
        // cmsghdr: size_t len, int level, int type; data at 16. tpacket_auxdata: status, len, snaplen (u32), mac, net, vlan_tci, vlan_tpid (u16).
        if (control.Length < 36 || System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(control[8..]) != SolPacket
            || System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(control[12..]) != PacketAuxData)
            return false;
        uint status = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(control[16..]);
        if ((status & StatusVlanValid) == 0)
            return false;
        tci = System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(control[32..]);
        tpid = (status & StatusVlanTpidValid) != 0 ? System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(control[34..]) : (ushort)0x8100;
        return true;
    }

    /// <summary>Receives one frame (a stripped VLAN tag is not restored here; use <see cref="Receive"/>); false when none is waiting (or on an error, see <see cref="LastErrno"/>).</summary>
    public unsafe bool TryReceive(Span<byte> destination, out int length)
    {
        nint n;
        do
        {
            fixed (byte* p = destination)
                n = Interop.Sys.Read(_handle, p, (nuint)destination.Length);
        }
        while (n < 0 && Marshal.GetLastPInvokeError() == Interop.Sys.Errno.EINTR);
        if (n < 0)
        {
            NoteError(Marshal.GetLastPInvokeError());
            length = 0;
            return false;
        }
        length = (int)n;
        return true;
    }

    /// <summary>Sends one whole frame; false if the kernel refused it (see <see cref="LastErrno"/>).</summary>
    public unsafe bool TrySend(ReadOnlySpan<byte> frame)
    {
        nint n;
        do
        {
            fixed (byte* p = frame)
                n = Interop.Sys.Write(_handle, p, (nuint)frame.Length);
        }
        while (n < 0 && Marshal.GetLastPInvokeError() == Interop.Sys.Errno.EINTR);
        if (n < 0)
        {
            NoteError(Marshal.GetLastPInvokeError());
            return false;
        }
        return n == frame.Length;
    }

    /// <summary>The socket's counters since it was opened (reading PACKET_STATISTICS resets the kernel's; we keep the sums).</summary>
    public unsafe PacketSocketStatistics GetStatistics()
    {
        uint* stats = stackalloc uint[2];
        uint length = 8;
        if (Interop.Sys.GetSockOptFd(_handle, SolPacket, PacketStatistics, stats, &length) == 0)
        {
            _packets += stats[0];
            _drops += stats[1];
        }
        else
        {
            LastErrno = Marshal.GetLastPInvokeError();
        }
        return new PacketSocketStatistics(_packets, _drops, _truncated);
    }

    /// <inheritdoc />
    public void Dispose() => _handle.Dispose();

    private void Drain()
    {
        Span<byte> scratch = stackalloc byte[64];
        while (TryReceive(scratch, out _))
        {
        }
        LastErrno = 0;
        GetStatistics();
        _packets = 0;
        _drops = 0;
    }

    private void NoteError(int errno)
    {
        if (errno != Interop.Sys.Errno.EAGAIN)
            LastErrno = errno;
    }

    private static unsafe void SetOption(SafeFileHandle handle, int level, int option, int value, string operation)
    {
        if (Interop.Sys.SetSockOptFd(handle, level, option, &value, sizeof(int)) != 0)
            throw Failure(operation, Marshal.GetLastPInvokeError());
    }

    private static IOException Failure(string operation, int errno) =>
        new($"{operation} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})", errno);
}
