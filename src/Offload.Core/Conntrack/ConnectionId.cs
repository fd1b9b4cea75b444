using System.Runtime.CompilerServices;

namespace Offload.Conntrack;

/// <summary>
/// A handle on a tracked connection: its slot in the table plus the slot's generation, so a handle kept
/// after the connection was removed is recognised as stale instead of reaching whatever reuses the slot.
/// </summary>
public readonly struct ConnectionId : IEquatable<ConnectionId>
{
    /// <summary>Slot index in the table.</summary>
    public readonly int Slot;

    /// <summary>Generation of the slot when the connection was created; never 0 for a real connection.</summary>
    public readonly uint Generation;

    /// <summary>Creates a handle.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ConnectionId(int slot, uint generation)
    {
        Slot = slot;
        Generation = generation;
    }

    /// <summary>No connection (generation 0, which no live connection has).</summary>
    public static ConnectionId None => default;

    /// <summary>True for <see cref="None"/>.</summary>
    public bool IsNone => Generation == 0;

    /// <inheritdoc/>
    public bool Equals(ConnectionId other) => Slot == other.Slot && Generation == other.Generation;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is ConnectionId other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Slot, Generation);

    /// <summary>Equality.</summary>
    public static bool operator ==(ConnectionId left, ConnectionId right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(ConnectionId left, ConnectionId right) => !left.Equals(right);

    /// <inheritdoc/>
    public override string ToString() => IsNone ? "none" : $"{Slot}.{Generation}";
}
