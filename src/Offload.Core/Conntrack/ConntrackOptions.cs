namespace Offload.Conntrack;

/// <summary>Settings of a <see cref="ConntrackTable"/>; checked by <see cref="Validate"/> when the table is built.</summary>
public sealed class ConntrackOptions
{
    /// <summary>Most connections tracked at once (nf_conntrack_max). The table's arrays grow to it on demand,
    /// so a large limit costs memory only when connections exist.</summary>
    public int MaxEntries { get; set; } = 1_000_000;

    /// <summary>Slots allocated up front (capped at <see cref="MaxEntries"/>); the arrays double from there.</summary>
    public int InitialCapacity { get; set; } = 1024;

    /// <summary>Pick up connections whose first packet seen is a mid-stream ACK, as ESTABLISHED
    /// (nf_conntrack_tcp_loose, on by default in Linux). When false only a SYN starts a TCP connection.</summary>
    public bool TcpLoose { get; set; } = true;

    /// <summary>Per-state timeouts.</summary>
    public ConntrackTimeouts Timeouts { get; set; } = new();

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad option.</summary>
    public void Validate()
    {
        if (MaxEntries is < 1 or > 1 << 28)
            throw new ArgumentException($"ConntrackOptions.MaxEntries must be between 1 and {1 << 28} (was {MaxEntries}).", nameof(MaxEntries));
        if (InitialCapacity < 1)
            throw new ArgumentException($"ConntrackOptions.InitialCapacity must be at least 1 (was {InitialCapacity}).", nameof(InitialCapacity));
        if (Timeouts is null)
            throw new ArgumentException("ConntrackOptions.Timeouts must be set.", nameof(Timeouts));
        Timeouts.Validate();
    }
}
