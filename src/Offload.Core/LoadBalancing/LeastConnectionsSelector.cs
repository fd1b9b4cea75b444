using Offload.Flows;

namespace Offload.LoadBalancing;

/// <summary>
/// The usable backend with the fewest live connections (counts come from conntrack). Ties are broken by a
/// hash of the connection's 5-tuple, so the choice is deterministic yet spreads across the tied backends.
/// Stateless and thread-safe.
/// </summary>
public sealed class LeastConnectionsSelector : IBackendSelector
{
    private readonly ulong _seed;

    /// <summary>Creates a selector over <paramref name="backendCount"/> backends.</summary>
    /// <param name="backendCount">Number of backends.</param>
    /// <param name="seed">Seed of the tie-breaking hash.</param>
    public LeastConnectionsSelector(int backendCount, ulong seed = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(backendCount);
        BackendCount = backendCount;
        _seed = seed;
    }

    /// <inheritdoc/>
    public int BackendCount { get; }

    /// <inheritdoc/>
    public int Select(in FlowKey key, ReadOnlySpan<int> activeConnectionsPerBackend)
    {
        int min = int.MaxValue, ties = 0;
        for (int i = 0; i < BackendCount; i++)
        {
            int c = Count(activeConnectionsPerBackend, i);
            if (c < 0)
                continue;
            if (c < min)
            {
                min = c;
                ties = 1;
            }
            else if (c == min)
            {
                ties++;
            }
        }
        if (ties == 0)
            return -1;
        int pick = (int)(TupleHash.FiveTuple(key, _seed) % (ulong)ties);
        for (int i = 0; i < BackendCount; i++)
        {
            if (Count(activeConnectionsPerBackend, i) == min && pick-- == 0)
                return i;
        }
        return -1;
    }

    // A backend past the end of the counts is usable with no known connections.
    private static int Count(ReadOnlySpan<int> counts, int i) => i < counts.Length ? counts[i] : 0;
}
