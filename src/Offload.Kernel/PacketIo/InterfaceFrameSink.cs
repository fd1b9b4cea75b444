using Offload.Actions;
using Offload.Datapath;

namespace Offload.Kernel.PacketIo;

// The switch's frame sink when its ports are Linux interfaces: a forwarded frame goes out of the interface bound to
// its output port, as the datapath built it (a tunnel frame the datapath encapsulated goes out of the uplink as is).
// During a batch on the pump's own thread frames are queued per port and sent with one sendmmsg per port when the
// batch is done; from any other thread (housekeeping releasing held frames) a frame is sent at once.
internal sealed class InterfaceFrameSink : IFrameSink
{
    private readonly PumpPort?[] _byPort = new PumpPort?[ushort.MaxValue + 1];
    private readonly IFrameSink? _next;
    private long _unbound;
    private int _collectingThread = -1;

    public InterfaceFrameSink(IFrameSink? next) => _next = next;

    public long Unbound => Interlocked.Read(ref _unbound);

    public void Bind(PumpPort port) => Volatile.Write(ref _byPort[port.Port], port);

    public void Unbind(ushort port) => Volatile.Write(ref _byPort[port], null);

    public void BeginCollecting() => Volatile.Write(ref _collectingThread, Environment.CurrentManagedThreadId);

    public void EndCollecting() => Volatile.Write(ref _collectingThread, -1);

    public void OnFrame(in FrameResult result, ReadOnlySpan<byte> frame)
    {
        if (result.Verdict == ActionVerdict.Output)
        {
            var port = _byPort[result.OutPort];
            if (port is null)
                Interlocked.Increment(ref _unbound);
            else if (Volatile.Read(ref _collectingThread) == Environment.CurrentManagedThreadId)
                port.Enqueue(frame);
            else
                port.SendNow(frame);
        }
        _next?.OnFrame(in result, frame);
    }
}
