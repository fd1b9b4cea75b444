using System.Runtime.InteropServices;
using Offload.Datapath;
using Offload.Kernel.Namespaces;
using Offload.Kernel.Rtnetlink;

namespace Offload.Kernel.PacketIo;

/// <summary>
/// Real device I/O for a switch: binds datapath ports to Linux interfaces (a VM port to the host end of the VM's
/// veth or TAP, the uplink to the underlay interface) with one AF_PACKET socket each, waits for frames on all of
/// them with poll(2), hands each interface's batch to the switch (<see cref="FrameBatchHandler"/>), and sends what
/// the switch forwards out of the output port's interface through <see cref="Sink"/> — give that sink to the
/// switch. One thread drives it (<see cref="Run"/> or <see cref="RunOnce"/>), as the datapath wants.
/// </summary>
/// <remarks>
/// <para>Steady state allocates nothing: every interface has a fixed receive batch and send queue, bounded by
/// <see cref="PacketPumpOptions.BatchSize"/>. Errors are counted per interface, never thrown: an interface that
/// goes down (ENETDOWN), a frame longer than a slot or than the MTU, a full queue
/// (<see cref="GetStatistics"/>).</para>
/// <para>The pump sees frames as the VM handed them to its vNIC: the VM side must not leave TCP/UDP checksums for
/// the NIC to fill in or hand over segmentation-offload super-frames (<c>ethtool -K eth0 tx off</c> inside the VM
/// or on its vNIC), or such frames arrive with partial checksums or are discarded as oversize.</para>
/// </remarks>
public sealed class PacketPump : IDisposable
{
    private const int EPERM = 1;
    private readonly PacketPumpOptions _options;
    private readonly InterfaceFrameSink _sink;
    private readonly List<PumpPort> _ports = [];
    private readonly InputFrame[] _inputs;
    private Interop.Sys.PollFd[] _pollFds = [];
    private long _cookie;
    private int _running;
    private bool _disposed;

    /// <summary>Creates a pump with no interface attached.</summary>
    /// <param name="options">Batch and frame sizes; defaults when null.</param>
    /// <param name="next">A sink that also sees every result after the pump sent it (e.g. for counting); optional.</param>
    public PacketPump(PacketPumpOptions? options = null, IFrameSink? next = null)
    {
        _options = options ?? new PacketPumpOptions();
        _options.Validate();
        _sink = new InterfaceFrameSink(next);
        _inputs = new InputFrame[_options.BatchSize];
    }

    /// <summary>The frame sink to give the switch: forwarded frames leave through the output port's interface.</summary>
    public IFrameSink Sink => _sink;

    /// <summary>Frames forwarded to a port with no interface attached (counted and discarded).</summary>
    public long UnboundFrames => _sink.Unbound;

    /// <summary>How many interfaces are attached.</summary>
    public int PortCount => _ports.Count;

    /// <summary>
    /// Binds datapath port <paramref name="port"/> to the interface named <paramref name="interfaceName"/> in
    /// <paramref name="ns"/> (default: the caller's namespace). Attach every port before <see cref="Run"/>.
    /// </summary>
    /// <exception cref="ArgumentException">No such interface, or the port or interface is attached already.</exception>
    /// <exception cref="IOException">The packet socket could not be opened (e.g. not root: EPERM).</exception>
    public void Attach(ushort port, string portName, string interfaceName, NetworkNamespace? ns = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(interfaceName);
        LinkInfo? link;
        using (var links = RtnetlinkClient.Open(ns))
            link = links.FindLink(interfaceName);
        if (link is null)
            throw new ArgumentException($"no network interface named '{interfaceName}'{(ns?.Name is { } n ? $" in namespace {n}" : "")}", nameof(interfaceName));
        Attach(port, portName, link.Index, interfaceName, ns);
    }

    /// <summary>Binds datapath port <paramref name="port"/> to interface index <paramref name="interfaceIndex"/> of <paramref name="ns"/>.</summary>
    /// <exception cref="ArgumentException">The port or interface is attached already.</exception>
    /// <exception cref="IOException">The packet socket could not be opened (no such interface, not root).</exception>
    public void Attach(ushort port, string portName, int interfaceIndex, string interfaceName, NetworkNamespace? ns = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(portName);
        ArgumentOutOfRangeException.ThrowIfZero(port);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Volatile.Read(ref _running) != 0)
            throw new InvalidOperationException("attach every interface before the pump runs");
        foreach (var existing in _ports)
        {
            if (existing.Port == port)
                throw new ArgumentException($"port {portName} ({port}) is attached to {existing.InterfaceName} already", nameof(port));
            if (existing.Socket.InterfaceIndex == interfaceIndex && string.Equals(existing.InterfaceName, interfaceName, StringComparison.Ordinal))
                throw new ArgumentException($"interface {interfaceName} is attached to port {existing.PortName} already", nameof(interfaceName));
        }
        PacketSocket socket;
        try
        {
            socket = PacketSocket.Open(interfaceIndex, ns, ignoreOutgoing: true, receiveBufferBytes: _options.ReceiveBufferBytes);
        }
        catch (IOException e) when (e.HResult == EPERM && _options.ReceiveBufferBytes > 0)
        {
            // Forcing the buffer size past the system's limit needs CAP_NET_ADMIN; with CAP_NET_RAW alone the
            // default buffer still works.
            socket = PacketSocket.Open(interfaceIndex, ns, ignoreOutgoing: true);
        }
        var attached = new PumpPort(port, portName, interfaceName, socket, _options);
        _ports.Add(attached);
        _sink.Bind(attached);
        var fds = new Interop.Sys.PollFd[_ports.Count];
        for (int i = 0; i < _ports.Count; i++)
            fds[i] = new Interop.Sys.PollFd { Fd = (int)_ports[i].Socket.Handle.DangerousGetHandle(), Events = Interop.Sys.PollIn };
        _pollFds = fds;
    }

    /// <summary>
    /// Runs until <paramref name="cancellationToken"/> is cancelled: waits for frames, hands them to
    /// <paramref name="handler"/>, sends what comes out, and every <paramref name="housekeepingInterval"/> calls
    /// <paramref name="housekeeping"/> (the switch's <c>Poll</c>; null when someone else drives it) on this thread.
    /// Returns when cancelled; an exception from the handler ends the run and propagates.
    /// </summary>
    public void Run(FrameBatchHandler handler, CancellationToken cancellationToken, Func<int>? housekeeping = null, TimeSpan housekeepingInterval = default)
    {
        ArgumentNullException.ThrowIfNull(handler);
        if (housekeeping is not null && housekeepingInterval <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(housekeepingInterval), housekeepingInterval, "Housekeeping needs a positive interval.");
        if (Interlocked.Exchange(ref _running, 1) != 0)
            throw new InvalidOperationException("the pump is running already");
        try
        {
            long interval = housekeeping is null ? 0 : Math.Max(1, (long)(housekeepingInterval.TotalSeconds * TimeProvider.System.TimestampFrequency));
            long next = TimeProvider.System.GetTimestamp() + interval;
            int wait = (int)Math.Ceiling(_options.WaitTimeout.TotalMilliseconds);
            if (housekeeping is not null)
                wait = Math.Min(wait, Math.Max(1, (int)housekeepingInterval.TotalMilliseconds));
            while (!cancellationToken.IsCancellationRequested)
            {
                Step(handler, wait);
                if (housekeeping is not null && TimeProvider.System.GetTimestamp() >= next)
                {
                    // Frames a decision releases leave from here as well, batched like the rest.
                    _sink.BeginCollecting();
                    try
                    {
                        housekeeping();
                    }
                    finally
                    {
                        FlushAll();
                    }
                    next = TimeProvider.System.GetTimestamp() + interval;
                }
            }
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
    }

    /// <summary>
    /// One round: waits up to <paramref name="timeoutMilliseconds"/> for frames on any attached interface, then hands
    /// each ready interface's batch to <paramref name="handler"/> and sends the results; returns the frames received.
    /// For callers with their own loop; not concurrently with <see cref="Run"/>.
    /// </summary>
    public int RunOnce(FrameBatchHandler handler, int timeoutMilliseconds = 0)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Step(handler, timeoutMilliseconds);
    }

    private unsafe int Step(FrameBatchHandler handler, int timeoutMilliseconds)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var fds = _pollFds;
        if (fds.Length == 0)
        {
            Thread.Sleep(Math.Max(0, timeoutMilliseconds));
            return 0;
        }
        int ready;
        fixed (Interop.Sys.PollFd* p = fds)
            ready = Interop.Sys.Poll(p, (nuint)fds.Length, timeoutMilliseconds);
        if (ready <= 0)
            return 0; // timeout, or EINTR: the caller's loop comes back
        int total = 0;
        _sink.BeginCollecting();
        try
        {
            for (int i = 0; i < fds.Length; i++)
            {
                short events = fds[i].ReturnedEvents;
                if (events == 0)
                    continue;
                var port = _ports[i];
                int n = port.Receive(errorPending: (events & (Interop.Sys.PollErr | Interop.Sys.PollHup)) != 0);
                if (n == 0)
                    continue;
                for (int j = 0; j < n; j++)
                    _inputs[j] = new InputFrame(port.Received[j], port.Port, ++_cookie);
                handler(_inputs.AsSpan(0, n));
                total += n;
            }
        }
        finally
        {
            FlushAll();
        }
        return total;
    }

    private void FlushAll()
    {
        _sink.EndCollecting();
        foreach (var port in _ports)
            port.Flush();
    }

    /// <summary>Counters of every attached interface, in attach order.</summary>
    public IReadOnlyList<PacketPumpPortStatistics> GetStatistics()
    {
        var list = new PacketPumpPortStatistics[_ports.Count];
        for (int i = 0; i < list.Length; i++)
            list[i] = _ports[i].GetStatistics();
        return list;
    }

    /// <summary>Closes every packet socket. Call after <see cref="Run"/> has returned.</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        foreach (var port in _ports)
        {
            _sink.Unbind(port.Port);
            port.Dispose();
        }
        _ports.Clear();
        _pollFds = [];
    }
}
