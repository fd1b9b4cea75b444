using Offload.Datapath;

namespace Offload.Hosting;

// The datapath counts frames but not bytes; this counts the bytes of every result by path, and frames and bytes out
// per port, on the datapath's thread (plain adds per frame) and passes the result on. Readers use Volatile.Read
// (the per-port counters are read under the runtime's lock).
internal sealed class ByteCountingSink(IFrameSink inner, PortTraffic ports) : IFrameSink
{
    private long _fastBytes;
    private long _slowBytes;

    public long FastPathBytes => Volatile.Read(ref _fastBytes);

    public long SlowPathBytes => Volatile.Read(ref _slowBytes);

    public void OnFrame(in FrameResult result, ReadOnlySpan<byte> frame)
    {
        if (result.Path == PacketPath.Fast)
            _fastBytes += frame.Length;
        else
            _slowBytes += frame.Length;
        if (result.Verdict == Actions.ActionVerdict.Output)
            ports.CountOut(result.OutPort, frame.Length);
        inner.OnFrame(in result, frame);
    }
}
