namespace Offload.Doca.Flow;

/// <summary>A pipe to create: what it matches on and what happens to packets no entry matches.</summary>
public sealed record DocaPipeSpec
{
    /// <summary>Name (at most 32 UTF-8 bytes).</summary>
    public string Name { get; init; } = "offload";

    /// <summary>A Flow CT pipe (always the 5-tuple, both directions per entry).</summary>
    public bool IsConnectionTracking { get; init; }

    /// <summary>Matched fields (ignored for CT pipes).</summary>
    public DocaMatchFields MatchFields { get; init; } = DocaMatchFields.FiveTupleAndVni;

    /// <summary>Expected entries; 0 = the library's default.</summary>
    public uint Entries { get; init; }

    /// <summary>The port's root pipe: where packets start.</summary>
    public bool IsRoot { get; init; }

    /// <summary>Fate of a packet no entry matches.</summary>
    public DocaFate MissFate { get; init; } = DocaFate.Software;

    /// <summary>Port for <see cref="DocaFate.Port"/> as miss fate.</summary>
    public ushort MissPort { get; init; }

    /// <summary>Pipe for <see cref="DocaFate.Pipe"/> as miss fate.</summary>
    public DocaPipe? MissPipe { get; init; }
}
