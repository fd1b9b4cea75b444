using Microsoft.Extensions.Time.Testing;
using Offload.Actions;
using Offload.Tests.TestSupport;

namespace Offload.Tests.Actions;

public class MeterTableTests
{
    private readonly FakeTimeProvider _time = new();

    private long Now => _time.GetTimestamp();

    [Fact]
    public void TryConsume_BurstThenEmpty_DropsAndCounts()
    {
        var meters = new MeterTable(4, _time);
        meters.Configure(1, rateBytesPerSecond: 1000, burstBytes: 3000);

        meters.TryConsume(1, 1000, Now).Should().BeTrue();
        meters.TryConsume(1, 1000, Now).Should().BeTrue();
        meters.TryConsume(1, 1000, Now).Should().BeTrue();
        meters.TryConsume(1, 1, Now).Should().BeFalse();

        meters.GetCounters(1).Should().Be(new MeterCounters(3, 3000, 1, 1));
    }

    [Fact]
    public void TryConsume_RefillsAtRateUpToBurst()
    {
        var meters = new MeterTable(4, _time);
        meters.Configure(0, rateBytesPerSecond: 1000, burstBytes: 2000);
        meters.TryConsume(0, 2000, Now).Should().BeTrue();

        _time.Advance(TimeSpan.FromMilliseconds(500));
        meters.TryConsume(0, 600, Now).Should().BeFalse("only 500 bytes refilled");
        meters.TryConsume(0, 500, Now).Should().BeTrue();

        _time.Advance(TimeSpan.FromHours(10));
        meters.TryConsume(0, 2000, Now).Should().BeTrue("a long idle period refills to the burst, without overflow");
        meters.TryConsume(0, 1, Now).Should().BeFalse("never more than the burst");
    }

    [Fact]
    public void TryConsume_UnconfiguredOrUnknownMeter_Passes()
    {
        var meters = new MeterTable(2, _time);
        meters.TryConsume(0, 1_000_000, Now).Should().BeTrue();
        meters.TryConsume(-1, 1, Now).Should().BeTrue();
        meters.TryConsume(99, 1, Now).Should().BeTrue();
        meters.GetCounters(99).Should().Be(default(MeterCounters));
    }

    [Fact]
    public void Configure_InvalidArguments_Throw()
    {
        var meters = new MeterTable(2, _time);
        FluentActions.Invoking(() => meters.Configure(2, 1, 1)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => meters.Configure(0, 0, 1)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => meters.Configure(0, 1, 0)).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void Apply_MeterOp_DropsQosOverRate()
    {
        var meters = new MeterTable(8, _time);
        var frame = FrameBuilder.TcpFrame("10.1.0.1", 40000, "10.1.0.3", 80, payloadLength: 46); // 100 bytes
        frame.Length.Should().Be(100);
        meters.Configure(5, rateBytesPerSecond: 100, burstBytes: 250);
        var program = Exec.Output(b => b.Meter(5), port: 2);

        Exec.Run(program, default, frame, meters: meters, now: Now).Outcome.Should().Be(ActionOutcome.Output(2));
        Exec.Run(program, default, frame, meters: meters, now: Now).Outcome.Should().Be(ActionOutcome.Output(2));
        Exec.Run(program, default, frame, meters: meters, now: Now).Outcome.Should().Be(ActionOutcome.Drop(DropReason.Qos));
        _time.Advance(TimeSpan.FromSeconds(1));
        Exec.Run(program, default, frame, meters: meters, now: Now).Outcome.Should().Be(ActionOutcome.Output(2));
        meters.GetCounters(5).DroppedPackets.Should().Be(1);
    }
}
