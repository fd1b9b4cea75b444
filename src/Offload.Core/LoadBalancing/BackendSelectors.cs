using System.Collections.Frozen;

namespace Offload.LoadBalancing;

/// <summary>The load-balancing algorithms by the names the policy uses.</summary>
public static class BackendSelectors
{
    private static readonly FrozenDictionary<string, Func<IReadOnlyList<string>, BackendSelectorOptions, IBackendSelector>> Factories =
        new Dictionary<string, Func<IReadOnlyList<string>, BackendSelectorOptions, IBackendSelector>>(StringComparer.Ordinal)
        {
            ["random"] = static (b, o) => new RandomSelector(b.Count, o.Random ?? new Random()),
            ["least-connections"] = static (b, o) => new LeastConnectionsSelector(b.Count, o.HashSeed),
            ["maglev"] = static (b, o) => new MaglevSelector(b, o.Weights, o.MaglevTableSize, o.HashSeed),
        }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>The known algorithm names.</summary>
    public static IReadOnlyList<string> Names { get; } = ["random", "least-connections", "maglev"];

    /// <summary>Creates the selector for <paramref name="algorithm"/> over <paramref name="backendNames"/>;
    /// throws <see cref="ArgumentException"/> naming the known algorithms when the name is unknown.</summary>
    public static IBackendSelector Create(string algorithm, IReadOnlyList<string> backendNames, BackendSelectorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(algorithm);
        ArgumentNullException.ThrowIfNull(backendNames);
        if (!Factories.TryGetValue(algorithm, out var factory))
            throw new ArgumentException($"Unknown load-balancing algorithm '{algorithm}'; known: {string.Join(", ", Names)}.", nameof(algorithm));
        return factory(backendNames, options ?? new BackendSelectorOptions());
    }
}
