using Offload.Actions;
using Offload.Datapath;
using Offload.Kernel.PacketIo;

namespace Offload.Kernel.Tests.PacketIo;

/// <summary>The pump's contract without devices (no root needed).</summary>
public sealed class PacketPumpTests
{
    [Fact]
    public void Run_HousekeepingWithoutInterval_Refused()
    {
        using var pump = new PacketPump();

        var act = () => pump.Run(_ => { }, CancellationToken.None, () => 0);

        act.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("housekeepingInterval");
    }

    [Fact]
    public void Run_Cancelled_ReturnsAndRunsHousekeepingOnItsThread()
    {
        using var pump = new PacketPump(new PacketPumpOptions { WaitTimeout = TimeSpan.FromMilliseconds(5) });
        using var stop = new CancellationTokenSource();
        int calls = 0;
        int thread = -1;

        pump.Run(_ => { }, stop.Token, () =>
        {
            thread = Environment.CurrentManagedThreadId;
            if (++calls == 3)
                stop.Cancel();
            return 0;
        }, TimeSpan.FromMilliseconds(1));

        calls.Should().Be(3);
        thread.Should().Be(Environment.CurrentManagedThreadId);
    }

    [Fact]
    public void Sink_OutputToAPortWithNoInterface_CountedAsUnboundAndPassedOn()
    {
        var next = new RecordingSink();
        using var pump = new PacketPump(next: next);
        var result = new FrameResult { Verdict = ActionVerdict.Output, OutPort = 7 };

        pump.Sink.OnFrame(in result, new byte[60]);

        pump.UnboundFrames.Should().Be(1);
        next.Count.Should().Be(1);
    }

    [Theory]
    [InlineData(0, 2048)]
    [InlineData(64, 32)]
    public void Constructor_InvalidOptions_Refused(int batch, int frameSize)
    {
        var act = () => new PacketPump(new PacketPumpOptions { BatchSize = batch, FrameSize = frameSize });

        act.Should().Throw<ArgumentException>();
    }

    private sealed class RecordingSink : IFrameSink
    {
        public int Count { get; private set; }

        public void OnFrame(in FrameResult result, ReadOnlySpan<byte> frame) => Count++;
    }
}
