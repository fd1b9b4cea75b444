namespace Offload.LoadBalancing;

/// <summary>Settings for <see cref="BackendSelectors.Create"/>; each algorithm reads the ones it uses.</summary>
public sealed record BackendSelectorOptions
{
    /// <summary>Random source for "random" (null: a new unseeded <see cref="Random"/> per selector).</summary>
    public Random? Random { get; init; }

    /// <summary>Seed of the 5-tuple hash ("least-connections" ties, "maglev" slots).</summary>
    public ulong HashSeed { get; init; }

    /// <summary>Maglev table size (prime).</summary>
    public int MaglevTableSize { get; init; } = MaglevSelector.DefaultTableSize;

    /// <summary>Maglev relative weights, one per backend; null for equal weights.</summary>
    public IReadOnlyList<int>? Weights { get; init; }
}
