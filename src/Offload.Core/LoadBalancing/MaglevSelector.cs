using Offload.Flows;

namespace Offload.LoadBalancing;

/// <summary>
/// Maglev consistent hashing (Eisenbud et al., NSDI 2016): each backend walks its own permutation of a
/// lookup table of prime size M, taking turns to claim free slots until the table is full, so every
/// backend owns ≈ M/N slots (or a share proportional to its weight) and removing or adding one backend
/// moves ≈ 1/N of the slots. A connection goes to the slot its 5-tuple hashes to.
/// </summary>
/// <remarks>
/// Immutable: the table is built in the constructor; when the backend set changes, build a new selector
/// (that is the rebuild) and swap it in — the names keep their permutations, hence the minimal disruption.
/// Thread-safe. An unusable backend (negative count) is skipped by probing the following slots, which
/// spreads its connections over the others without rebuilding.
/// </remarks>
public sealed class MaglevSelector : IBackendSelector
{
    /// <summary>The paper's default table size, a prime well above 100 × the expected backend count.</summary>
    public const int DefaultTableSize = 65537;

    private readonly int[] _table;
    private readonly ulong _seed;

    /// <summary>Builds the lookup table.</summary>
    /// <param name="backendNames">Stable backend identities (e.g. "10.1.0.1:8080"); order gives the indices.</param>
    /// <param name="weights">Optional relative weights (≥ 0), one per backend; null for equal weights.</param>
    /// <param name="tableSize">Prime table size M, at least the number of backends.</param>
    /// <param name="seed">Seed of the 5-tuple hash.</param>
    public MaglevSelector(IReadOnlyList<string> backendNames, IReadOnlyList<int>? weights = null, int tableSize = DefaultTableSize, ulong seed = 0)
    {
        ArgumentNullException.ThrowIfNull(backendNames);
        if (tableSize < 2 || !IsPrime(tableSize))
            throw new ArgumentException($"Maglev table size {tableSize} must be a prime ≥ 2.", nameof(tableSize));
        if (tableSize < backendNames.Count)
            throw new ArgumentException($"Maglev table size {tableSize} is smaller than the {backendNames.Count} backends.", nameof(tableSize));
        if (weights is not null && weights.Count != backendNames.Count)
            throw new ArgumentException($"{weights.Count} weights for {backendNames.Count} backends.", nameof(weights));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < backendNames.Count; i++)
        {
            if (!seen.Add(backendNames[i]))
                throw new ArgumentException($"Duplicate backend name '{backendNames[i]}'.", nameof(backendNames));
            if (weights is not null && weights[i] < 0)
                throw new ArgumentException($"Backend '{backendNames[i]}' has a negative weight.", nameof(weights));
        }
        BackendCount = backendNames.Count;
        TableSize = tableSize;
        _seed = seed;
        _table = Populate(backendNames, weights, tableSize);
    }

    /// <inheritdoc/>
    public int BackendCount { get; }

    /// <summary>The table size M.</summary>
    public int TableSize { get; }

    /// <summary>The backend owning each slot (−1 when every weight is zero); for tests and diagnostics.</summary>
    public ReadOnlySpan<int> Table => _table;

    /// <inheritdoc/>
    public int Select(in FlowKey key, ReadOnlySpan<int> activeConnectionsPerBackend)
    {
        if (BackendCount == 0)
            return -1;
        int slot = (int)(TupleHash.FiveTuple(key, _seed) % (ulong)TableSize);
        int backend = _table[slot];
        if (backend >= 0 && RandomSelector.Usable(activeConnectionsPerBackend, backend))
            return backend;
        if (!AnyUsable(activeConnectionsPerBackend))
            return -1;
        for (int probe = 1; probe < TableSize; probe++)
        {
            backend = _table[(slot + probe) % TableSize];
            if (backend >= 0 && RandomSelector.Usable(activeConnectionsPerBackend, backend))
                return backend;
        }
        return -1;
    }

    private bool AnyUsable(ReadOnlySpan<int> counts)
    {
        for (int i = 0; i < BackendCount; i++)
        {
            if (RandomSelector.Usable(counts, i))
                return true;
        }
        return false;
    }

    private static int[] Populate(IReadOnlyList<string> names, IReadOnlyList<int>? weights, int m)
    {
        int n = names.Count;
        var table = new int[m];
        Array.Fill(table, -1);
        var offset = new ulong[n];
        var skip = new ulong[n];
        var next = new ulong[n];
        var credit = new long[n];
        int maxWeight = 0;
        for (int i = 0; i < n; i++)
        {
            offset[i] = TupleHash.Name(names[i], 0x6d61676c65763031UL) % (ulong)m;
            skip[i] = TupleHash.Name(names[i], 0x6d61676c65763032UL) % (ulong)(m - 1) + 1;
            maxWeight = Math.Max(maxWeight, Weight(weights, i));
        }
        if (maxWeight == 0)
            return table;
        int filled = 0;
        while (true)
        {
            for (int i = 0; i < n; i++)
            {
                // Weighted turns: a backend claims one slot per maxWeight of accumulated credit.
                credit[i] += Weight(weights, i);
                while (credit[i] >= maxWeight)
                {
                    credit[i] -= maxWeight;
                    ulong c = (offset[i] + next[i] * skip[i]) % (ulong)m;
                    while (table[c] >= 0)
                    {
                        next[i]++;
                        c = (offset[i] + next[i] * skip[i]) % (ulong)m;
                    }
                    table[c] = i;
                    next[i]++;
                    if (++filled == m)
                        return table;
                }
            }
        }
    }

    private static int Weight(IReadOnlyList<int>? weights, int i) => weights is null ? 1 : weights[i];

    private static bool IsPrime(int value)
    {
        if (value % 2 == 0)
            return value == 2;
        for (int d = 3; (long)d * d <= value; d += 2)
        {
            if (value % d == 0)
                return false;
        }
        return true;
    }
}
