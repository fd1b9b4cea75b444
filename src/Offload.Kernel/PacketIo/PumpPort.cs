using System.Runtime.InteropServices;

namespace Offload.Kernel.PacketIo;

// One datapath port bound to one interface: its packet socket, a receive batch and a send queue, and counters.
// Receiving and the send queue belong to the pump's thread; SendNow may come from any thread (a slow-path decision
// released by housekeeping), so the send counters are updated with Interlocked (once per batch on the pump's thread).
internal sealed class PumpPort : IDisposable
{
    private readonly PacketBatch _queue;
    private readonly Lock _sendGate = new();
    private long _receivedFrames, _receivedBytes, _receiveErrors, _oversize;
    private long _sentFrames, _sentBytes, _sendErrors;
    private int _lastErrno;

    public PumpPort(ushort port, string portName, string interfaceName, PacketSocket socket, PacketPumpOptions options)
    {
        Port = port;
        PortName = portName;
        InterfaceName = interfaceName;
        Socket = socket;
        Received = new PacketBatch(options.BatchSize, options.FrameSize);
        _queue = new PacketBatch(options.BatchSize, options.FrameSize, headroom: 0);
    }

    public ushort Port { get; }

    public string PortName { get; }

    public string InterfaceName { get; }

    public PacketSocket Socket { get; }

    public PacketBatch Received { get; }

    public int Queued => _queue.Count;

    // Receives one batch into Received; an error the socket reported (poll said POLLERR) is counted once.
    public int Receive(bool errorPending)
    {
        Received.Clear();
        int n = Socket.Receive(Received);
        long bytes = 0;
        for (int i = 0; i < n; i++)
            bytes += Received.Frame(i).Length;
        _receivedFrames += n;
        _receivedBytes += bytes;
        if (errorPending && n == 0 && Socket.LastErrno != 0)
        {
            _receiveErrors++;
            Volatile.Write(ref _lastErrno, Socket.LastErrno);
        }
        return n;
    }

    // On the pump's thread, while the switch processes a batch: copy into the send queue (the frame is only valid
    // during the sink call), sending the queue first when it is full.
    public void Enqueue(ReadOnlySpan<byte> frame)
    {
        if (frame.Length > _queue.FrameSize)
        {
            Interlocked.Increment(ref _oversize);
            return;
        }
        if (!_queue.TryAdd(frame))
        {
            Flush();
            _queue.TryAdd(frame);
        }
    }

    // From any other thread: one frame, one system call (these are rare: frames released by housekeeping).
    public void SendNow(ReadOnlySpan<byte> frame)
    {
        if (frame.Length > _queue.FrameSize)
        {
            Interlocked.Increment(ref _oversize);
            return;
        }
        bool sent;
        lock (_sendGate)
            sent = Socket.TrySend(frame);
        if (sent)
        {
            Interlocked.Increment(ref _sentFrames);
            Interlocked.Add(ref _sentBytes, frame.Length);
        }
        else
        {
            Interlocked.Increment(ref _sendErrors);
            Volatile.Write(ref _lastErrno, Socket.LastErrno);
        }
    }

    // Sends the queue with sendmmsg. A frame longer than the interface's MTU (EMSGSIZE) is skipped alone; any other
    // error (interface down, queue full) drops the rest of the batch, counted — the next batch tries again.
    public unsafe void Flush()
    {
        int count = _queue.Count;
        if (count == 0)
            return;
        int start = 0;
        long frames = 0, bytes = 0, errors = 0;
        lock (_sendGate)
        {
            while (start < count)
            {
                _queue.PrepareSend(start, count);
                int n = Interop.Sys.SendMmsg(Socket.Handle, _queue.Headers(start), (uint)(count - start), 0);
                if (n > 0)
                {
                    for (int i = start; i < start + n; i++)
                        bytes += _queue.Frame(i).Length;
                    frames += n;
                    start += n;
                    continue;
                }
                int errno = n < 0 ? Marshal.GetLastPInvokeError() : 0;
                if (errno == Interop.Sys.Errno.EINTR)
                    continue;
                Volatile.Write(ref _lastErrno, errno);
                if (errno == Interop.Sys.Errno.EMSGSIZE)
                {
                    errors++;
                    start++;
                    continue;
                }
                errors += count - start;
                break;
            }
        }
        _queue.Clear();
        Interlocked.Add(ref _sentFrames, frames);
        Interlocked.Add(ref _sentBytes, bytes);
        if (errors > 0)
            Interlocked.Add(ref _sendErrors, errors);
    }

    public PacketPumpPortStatistics GetStatistics()
    {
        PacketSocketStatistics socket;
        lock (_sendGate)
            socket = Socket.GetStatistics();
        return new PacketPumpPortStatistics(Port, PortName, InterfaceName,
            Volatile.Read(ref _receivedFrames), Volatile.Read(ref _receivedBytes),
            Interlocked.Read(ref _sentFrames), Interlocked.Read(ref _sentBytes),
            Volatile.Read(ref _receiveErrors), Interlocked.Read(ref _sendErrors),
            Interlocked.Read(ref _oversize) + socket.Truncated, socket.Drops, Volatile.Read(ref _lastErrno));
    }

    public void Dispose() => Socket.Dispose();
}
