namespace Offload.Flows;

/// <summary>Per-flow counters kept by the fast path (claim C4).</summary>
public readonly struct FlowStats : IEquatable<FlowStats>
{
    /// <summary>Creates a counter snapshot.</summary>
    public FlowStats(long packets, long bytes, long lastSeenTicks)
    {
        Packets = packets;
        Bytes = bytes;
        LastSeenTicks = lastSeenTicks;
    }

    /// <summary>Packets that hit the flow.</summary>
    public long Packets { get; }

    /// <summary>Bytes of those packets.</summary>
    public long Bytes { get; }

    /// <summary>Timestamp (ticks of <see cref="TimeProvider.GetTimestamp"/>) of the last hit, or of the insertion
    /// when there has been no hit yet.</summary>
    public long LastSeenTicks { get; }

    /// <inheritdoc/>
    public bool Equals(FlowStats other) =>
        Packets == other.Packets && Bytes == other.Bytes && LastSeenTicks == other.LastSeenTicks;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is FlowStats other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Packets, Bytes, LastSeenTicks);

    /// <summary>Equality.</summary>
    public static bool operator ==(FlowStats left, FlowStats right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(FlowStats left, FlowStats right) => !left.Equals(right);

    /// <inheritdoc/>
    public override string ToString() => $"packets {Packets} bytes {Bytes} last-seen {LastSeenTicks}";
}
