namespace Offload.Actions;

/// <summary>Counters of one meter.</summary>
public readonly record struct MeterCounters(long PassedPackets, long PassedBytes, long DroppedPackets, long DroppedBytes);

/// <summary>
/// Token-bucket meters (QoS, claim S2) indexed by a small dense meter id: each has a rate in bytes per
/// second and a burst in bytes, starts full, and refills continuously with time given as
/// <see cref="TimeProvider.GetTimestamp"/> ticks.
/// </summary>
/// <remarks>
/// Not thread-safe: a meter belongs to one datapath thread (the datapath is single-threaded per
/// table). <see cref="Configure"/> and <see cref="GetCounters"/> from another thread may see a torn
/// bucket state, which only affects one packet's verdict, never memory safety.
/// </remarks>
public sealed class MeterTable
{
    private struct Bucket
    {
        public bool Configured;
        public long RateBytesPerSecond;
        // Tokens are kept in byte·ticks (bytes × timestamp frequency) so that refill is exact integer
        // arithmetic with no division on the packet path.
        public long CapacityScaled;
        public long TokensScaled;
        public long LastTicks;
        public long PassedPackets, PassedBytes, DroppedPackets, DroppedBytes;
    }

    private readonly Bucket[] _buckets;
    private readonly TimeProvider _timeProvider;
    private readonly long _frequency;

    /// <summary>Creates a table for meter ids 0 .. <paramref name="capacity"/> − 1.</summary>
    public MeterTable(int capacity, TimeProvider timeProvider)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _buckets = new Bucket[capacity];
        _timeProvider = timeProvider;
        _frequency = timeProvider.TimestampFrequency;
    }

    /// <summary>Number of meter ids.</summary>
    public int Capacity => _buckets.Length;

    /// <summary>Configures (or reconfigures, refilling it) meter <paramref name="meterId"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Id out of range, rate ≤ 0, burst ≤ 0, or a burst too large to represent.</exception>
    public void Configure(int meterId, long rateBytesPerSecond, long burstBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(meterId);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(meterId, _buckets.Length);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rateBytesPerSecond);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(burstBytes);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(burstBytes, long.MaxValue / _frequency);
        ref var b = ref _buckets[meterId];
        b.RateBytesPerSecond = rateBytesPerSecond;
        b.CapacityScaled = burstBytes * _frequency;
        b.TokensScaled = b.CapacityScaled;
        b.LastTicks = _timeProvider.GetTimestamp();
        b.Configured = true;
    }

    /// <summary>Removes meter <paramref name="meterId"/> (frames charged to it pass unmetered).</summary>
    public void Remove(int meterId)
    {
        if ((uint)meterId < (uint)_buckets.Length)
            _buckets[meterId] = default;
    }

    /// <summary>True when <paramref name="meterId"/> is configured with this rate and burst.</summary>
    public bool IsConfiguredAs(int meterId, long rateBytesPerSecond, long burstBytes) =>
        IsConfigured(meterId) && _buckets[meterId].RateBytesPerSecond == rateBytesPerSecond
        && _buckets[meterId].CapacityScaled == burstBytes * _frequency;

    /// <summary>True when <paramref name="meterId"/> is configured.</summary>
    public bool IsConfigured(int meterId) => (uint)meterId < (uint)_buckets.Length && _buckets[meterId].Configured;

    /// <summary>
    /// Charges <paramref name="bytes"/> at <paramref name="nowTicks"/>: true (and tokens taken) when the
    /// bucket holds enough, false (and a drop counted) otherwise. An unknown or unconfigured meter passes.
    /// </summary>
    public bool TryConsume(int meterId, int bytes, long nowTicks)
    {
        if ((uint)meterId >= (uint)_buckets.Length)
            return true;
        ref var b = ref _buckets[meterId];
        if (!b.Configured)
            return true;

        long elapsed = nowTicks - b.LastTicks;
        if (elapsed > 0)
        {
            b.LastTicks = nowTicks;
            long missing = b.CapacityScaled - b.TokensScaled;
            // Compare before multiplying so a long idle period cannot overflow rate × elapsed.
            if (missing > 0)
                b.TokensScaled = elapsed >= missing / b.RateBytesPerSecond + 1
                    ? b.CapacityScaled
                    : Math.Min(b.CapacityScaled, b.TokensScaled + b.RateBytesPerSecond * elapsed);
        }

        long need = (long)Math.Max(bytes, 0) * _frequency;
        if (b.TokensScaled >= need)
        {
            b.TokensScaled -= need;
            b.PassedPackets++;
            b.PassedBytes += bytes;
            return true;
        }
        b.DroppedPackets++;
        b.DroppedBytes += bytes;
        return false;
    }

    /// <summary>Counters of <paramref name="meterId"/> (zero for an unknown id).</summary>
    public MeterCounters GetCounters(int meterId)
    {
        if ((uint)meterId >= (uint)_buckets.Length)
            return default;
        ref readonly var b = ref _buckets[meterId];
        return new MeterCounters(b.PassedPackets, b.PassedBytes, b.DroppedPackets, b.DroppedBytes);
    }
}
