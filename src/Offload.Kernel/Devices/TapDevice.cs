using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;
using Offload.Kernel.Namespaces;
using Offload.Kernel.Netlink;
using Offload.Kernel.Rtnetlink;
using Offload.Packets;

namespace Offload.Kernel.Devices;

/// <summary>
/// A TAP device (an emulated NIC: Ethernet frames, no packet-information prefix) opened on <c>/dev/net/tun</c>. It is
/// not persistent: the kernel removes it when the last queue descriptor is closed, so a crashed process leaves no TAP
/// behind. Reads and writes are non-blocking, one whole frame per call, into and from caller spans (no allocation).
/// </summary>
public sealed class TapDevice : IDisposable
{
    private const string CloneDevice = "/dev/net/tun";
    private const int OpenFlags = 0x2 | 0x800 | 0x80000; // O_RDWR | O_NONBLOCK | O_CLOEXEC
    private const nuint TunSetInterface = 0x400454CA;     // TUNSETIFF = _IOW('T', 202, int)
    private const nuint TunSetPersist = 0x400454CB;       // TUNSETPERSIST = _IOW('T', 203, int)
    private const short IffTap = 0x0002, IffNoPi = 0x1000, IffMultiQueue = 0x0100;
    private const int IfReqSize = 40, IfNameSize = 16;
    private readonly SafeFileHandle[] _queues;
    private RtnetlinkClient? _rtnetlink;

    private TapDevice(string name, int index, SafeFileHandle[] queues, NetworkNamespace? ns)
    {
        Name = name;
        Index = index;
        _queues = queues;
        Namespace = ns;
    }

    /// <summary>The interface name.</summary>
    public string Name { get; }

    /// <summary>The interface index in its namespace.</summary>
    public int Index { get; }

    /// <summary>The namespace the device lives in (null: the namespace of the thread that created it).</summary>
    public NetworkNamespace? Namespace { get; }

    /// <summary>The number of queues (descriptors); more than one only for a multi-queue device.</summary>
    public int QueueCount => _queues.Length;

    /// <summary>The descriptor of queue 0.</summary>
    public SafeFileHandle Handle => _queues[0];

    /// <summary>The errno of the last failed read or write (other than "no frame waiting" / "queue full").</summary>
    public int LastErrno { get; private set; }

    /// <summary>
    /// Creates a TAP device in <paramref name="ns"/> (default: the caller's namespace). With <paramref name="queues"/>
    /// &gt; 1 the device is multi-queue (IFF_MULTI_QUEUE) and one descriptor is opened per queue. The device is down;
    /// <paramref name="alias"/>, when given, is set as its ifalias (the ownership mark of <see cref="OwnedDevices"/>).
    /// </summary>
    public static TapDevice Create(string name, NetworkNamespace? ns = null, int queues = 1, string? alias = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (Encoding.UTF8.GetByteCount(name) >= IfNameSize)
            throw new ArgumentException($"'{name}' is longer than 15 bytes.", nameof(name));
        ArgumentOutOfRangeException.ThrowIfLessThan(queues, 1);
        var handles = new SafeFileHandle[queues];
        string actualName = name;
        try
        {
            NetworkNamespace.RunIn(ns, () =>
            {
                short flags = (short)(IffTap | IffNoPi | (queues > 1 ? IffMultiQueue : 0));
                for (int q = 0; q < queues; q++)
                    handles[q] = Attach(name, flags, out actualName);
                return 0;
            });
            SetPersist(handles[0], false);
            var client = RtnetlinkClient.Open(ns);
            try
            {
                var tap = new TapDevice(actualName, client.GetIndex(actualName), handles, ns) { _rtnetlink = client };
                if (alias is not null)
                    client.SetAlias(tap.Index, alias);
                return tap;
            }
            catch
            {
                client.Dispose();
                throw;
            }
        }
        catch
        {
            foreach (SafeFileHandle? h in handles)
                h?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reads one waiting frame into <paramref name="destination"/> (which should hold MTU + 14 bytes; a longer frame is
    /// truncated by the kernel). False when no frame is waiting or on an error (<see cref="LastErrno"/>).
    /// </summary>
    public bool TryRead(Span<byte> destination, out int length) => TryRead(0, destination, out length);

    /// <summary>Like <see cref="TryRead(Span{byte}, out int)"/> on one queue of a multi-queue device.</summary>
    public unsafe bool TryRead(int queue, Span<byte> destination, out int length)
    {
        SafeFileHandle fd = _queues[queue];
        while (true)
        {
            nint n;
            fixed (byte* p = destination)
                n = Interop.Sys.Read(fd, p, (nuint)destination.Length);
            if (n >= 0)
            {
                length = (int)n;
                return n > 0;
            }
            int errno = Marshal.GetLastPInvokeError();
            if (errno == Interop.Sys.Errno.EINTR)
                continue;
            if (errno != Interop.Sys.Errno.EAGAIN)
                LastErrno = errno;
            length = 0;
            return false;
        }
    }

    /// <summary>Reads waiting frames into the free slots of <paramref name="batch"/>; returns how many were read.</summary>
    public int ReadBatch(PacketIo.PacketBatch batch, int queue = 0)
    {
        ArgumentNullException.ThrowIfNull(batch);
        int read = 0;
        while (batch.Count < batch.Capacity)
        {
            int slot = batch.Count;
            if (!TryRead(queue, batch.SlotSpace(slot), out int length))
                break;
            batch.SetLength(slot, length);
            batch.Count = slot + 1;
            read++;
        }
        return read;
    }

    /// <summary>
    /// Writes one whole frame (the guest receives it). False when the device's queue is full or down, or on an error
    /// (<see cref="LastErrno"/>); the frame is then not sent.
    /// </summary>
    public bool TryWrite(ReadOnlySpan<byte> frame) => TryWrite(0, frame);

    /// <summary>Like <see cref="TryWrite(ReadOnlySpan{byte})"/> on one queue of a multi-queue device.</summary>
    public unsafe bool TryWrite(int queue, ReadOnlySpan<byte> frame)
    {
        SafeFileHandle fd = _queues[queue];
        while (true)
        {
            nint n;
            fixed (byte* p = frame)
                n = Interop.Sys.Write(fd, p, (nuint)frame.Length);
            if (n >= 0)
                return n == frame.Length;
            int errno = Marshal.GetLastPInvokeError();
            if (errno == Interop.Sys.Errno.EINTR)
                continue;
            if (errno != Interop.Sys.Errno.EAGAIN)
                LastErrno = errno;
            return false;
        }
    }

    /// <summary>Sets the device up or down (rtnetlink).</summary>
    public void SetUp(bool up = true) => Rtnetlink.SetUp(Index, up);

    /// <summary>Sets the MTU (rtnetlink).</summary>
    public void SetMtu(int mtu) => Rtnetlink.SetMtu(Index, mtu);

    /// <summary>Sets the MAC address the host side of the emulated NIC uses (rtnetlink).</summary>
    public void SetMac(MacAddress mac) => Rtnetlink.SetMac(Index, mac);

    /// <summary>Reads the device's current state (rtnetlink).</summary>
    public LinkInfo Describe() =>
        Rtnetlink.FindLink(Name) ?? throw new NetlinkException($"find link {Name}", 19);

    /// <summary>Closes every queue; the kernel removes the device.</summary>
    public void Dispose()
    {
        foreach (SafeFileHandle h in _queues)
            h.Dispose();
        _rtnetlink?.Dispose();
    }

    private RtnetlinkClient Rtnetlink => _rtnetlink ??= RtnetlinkClient.Open(Namespace);

    private static unsafe SafeFileHandle Attach(string name, short flags, out string actualName)
    {
        SafeFileHandle fd = Interop.Sys.Open(CloneDevice, OpenFlags);
        if (fd.IsInvalid)
        {
            int errno = Marshal.GetLastPInvokeError();
            fd.Dispose();
            throw new IOException($"open({CloneDevice}) failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
        }
        byte* ifreq = stackalloc byte[IfReqSize];
        new Span<byte>(ifreq, IfReqSize).Clear();
        Encoding.UTF8.GetBytes(name, new Span<byte>(ifreq, IfNameSize - 1));
        *(short*)(ifreq + IfNameSize) = flags;
        if (Interop.Sys.Ioctl(fd, TunSetInterface, ifreq) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            fd.Dispose();
            throw new IOException($"TUNSETIFF {name} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
        }
        var kernelName = new ReadOnlySpan<byte>(ifreq, IfNameSize);
        int end = kernelName.IndexOf((byte)0);
        actualName = Encoding.UTF8.GetString(end < 0 ? kernelName : kernelName[..end]);
        return fd;
    }

    private static void SetPersist(SafeFileHandle fd, bool persist)
    {
        // The argument is passed by value in the pointer slot, as the kernel reads it.
        unsafe
        {
            if (Interop.Sys.Ioctl(fd, TunSetPersist, (void*)(persist ? 1 : 0)) != 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                throw new IOException($"TUNSETPERSIST failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
            }
        }
    }
}
