namespace Offload.Cli.Replay;

/// <summary>
/// A clock that reads the time of the frame being replayed, so that conntrack timeouts, flow ageing, QoS
/// buckets and revalidation follow the capture rather than the machine replaying it. Timestamps are
/// <see cref="DateTimeOffset.UtcTicks"/> (frequency 10 MHz).
/// </summary>
internal sealed class ReplayClock(DateTimeOffset start) : TimeProvider
{
    private long _ticks = start.UtcTicks;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => _ticks;

    public override DateTimeOffset GetUtcNow() => new(_ticks, TimeSpan.Zero);

    /// <summary>Moves the clock to <paramref name="time"/>; never backwards.</summary>
    /// <remarks>Captures merged from several interfaces can step back by a little; letting time run backwards would
    /// make elapsed-time arithmetic negative everywhere, so such a frame is treated as arriving "now".</remarks>
    public void AdvanceTo(DateTimeOffset time)
    {
        if (time.UtcTicks > _ticks)
            _ticks = time.UtcTicks;
    }

    /// <summary>Moves the clock forward by <paramref name="delta"/>.</summary>
    public void Advance(TimeSpan delta) => _ticks += Math.Max(0, delta.Ticks);
}
