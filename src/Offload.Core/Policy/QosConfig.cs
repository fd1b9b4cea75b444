namespace Offload.Policy;

/// <summary>Per-port rate limit (<c>qos[]</c>, claim S2): a token bucket.</summary>
/// <param name="Port">Port name.</param>
/// <param name="RateMbps">Rate in megabits per second; greater than 0.</param>
/// <param name="BurstKb">Bucket depth in KiB; at least one 1500-byte frame (2 KiB).</param>
public sealed record QosConfig(string Port, double RateMbps, int BurstKb)
{
    /// <summary>The rate as a token bucket's refill, bytes per second.</summary>
    public long RateBytesPerSecond => (long)(RateMbps * 1_000_000 / 8);

    /// <summary>The bucket's depth in bytes.</summary>
    public long BurstBytes => BurstKb * 1024L;

    /// <summary>Sets meter <paramref name="meterId"/> of <paramref name="meters"/> to <paramref name="qos"/>, or removes
    /// it when the port has none; a meter already at this rate and depth keeps its tokens and counters (a policy
    /// re-applied unchanged must not hand out a fresh burst).</summary>
    public static void ApplyTo(Offload.Actions.MeterTable meters, int meterId, QosConfig? qos)
    {
        ArgumentNullException.ThrowIfNull(meters);
        if (qos is null)
            meters.Remove(meterId);
        else if (!meters.IsConfiguredAs(meterId, qos.RateBytesPerSecond, qos.BurstBytes))
            meters.Configure(meterId, qos.RateBytesPerSecond, qos.BurstBytes);
    }
}
