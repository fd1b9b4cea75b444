using System.Globalization;

namespace Offload.Policy;

/// <summary>An inclusive range of L4 ports.</summary>
public readonly struct PortRange : IEquatable<PortRange>
{
    /// <summary>Creates the range <paramref name="first"/>–<paramref name="last"/>; throws when inverted.</summary>
    public PortRange(ushort first, ushort last)
    {
        if (last < first)
            throw new ArgumentException($"Port range {first}-{last} is inverted.", nameof(last));
        First = first;
        Last = last;
    }

    /// <summary>Lowest port in the range.</summary>
    public ushort First { get; }

    /// <summary>Highest port in the range (inclusive).</summary>
    public ushort Last { get; }

    /// <summary>Number of ports in the range.</summary>
    public int Count => Last - First + 1;

    /// <summary>True when <paramref name="port"/> is inside the range.</summary>
    public bool Contains(ushort port) => port >= First && port <= Last;

    /// <inheritdoc/>
    public bool Equals(PortRange other) => First == other.First && Last == other.Last;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is PortRange other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => (First << 16) | Last;

    /// <summary>Equality.</summary>
    public static bool operator ==(PortRange left, PortRange right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(PortRange left, PortRange right) => !left.Equals(right);

    /// <summary>"80" or "1000-2000".</summary>
    public override string ToString() => First == Last
        ? First.ToString(CultureInfo.InvariantCulture)
        : string.Create(CultureInfo.InvariantCulture, $"{First}-{Last}");
}
