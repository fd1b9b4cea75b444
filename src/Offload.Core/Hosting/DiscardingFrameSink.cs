using Offload.Datapath;

namespace Offload.Hosting;

// The sink used when the application registers none: results are only counted.
internal sealed class DiscardingFrameSink : IFrameSink
{
    public void OnFrame(in FrameResult result, ReadOnlySpan<byte> frame)
    {
    }
}
