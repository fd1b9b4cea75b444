namespace Offload.Policy;

/// <summary>Per-port rate limit (<c>qos[]</c>, claim S2): a token bucket.</summary>
/// <param name="Port">Port name.</param>
/// <param name="RateMbps">Rate in megabits per second; greater than 0.</param>
/// <param name="BurstKb">Bucket depth in KiB; at least one 1500-byte frame (2 KiB).</param>
public sealed record QosConfig(string Port, double RateMbps, int BurstKb);
