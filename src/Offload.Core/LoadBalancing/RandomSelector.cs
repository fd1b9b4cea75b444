using Offload.Flows;

namespace Offload.LoadBalancing;

/// <summary>Uniform random choice among usable backends. Not thread-safe: the datapath thread owns it
/// (the injected <see cref="Random"/> is not thread-safe either).</summary>
public sealed class RandomSelector : IBackendSelector
{
    private readonly Random _random;

    /// <summary>Creates a selector over <paramref name="backendCount"/> backends.</summary>
    /// <param name="backendCount">Number of backends (0 is allowed: every selection returns −1).</param>
    /// <param name="random">The random source; inject a seeded one for reproducible tests.</param>
    public RandomSelector(int backendCount, Random random)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(backendCount);
        ArgumentNullException.ThrowIfNull(random);
        BackendCount = backendCount;
        _random = random;
    }

    /// <inheritdoc/>
    public int BackendCount { get; }

    /// <inheritdoc/>
    public int Select(in FlowKey key, ReadOnlySpan<int> activeConnectionsPerBackend)
    {
        int usable = 0;
        for (int i = 0; i < BackendCount; i++)
        {
            if (Usable(activeConnectionsPerBackend, i))
                usable++;
        }
        if (usable == 0)
            return -1;
        int pick = _random.Next(usable);
        for (int i = 0; i < BackendCount; i++)
        {
            if (Usable(activeConnectionsPerBackend, i) && pick-- == 0)
                return i;
        }
        return -1;
    }

    internal static bool Usable(ReadOnlySpan<int> counts, int i) => i >= counts.Length || counts[i] >= 0;
}
