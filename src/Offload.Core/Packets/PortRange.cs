using System.Globalization;

namespace Offload.Packets;

/// <summary>An inclusive range of L4 ports, <c>Lo..Hi</c>. For ICMP the ports are the identifier (source)
/// and (type &lt;&lt; 8) | code (destination), as in <see cref="Offload.Flows.FlowKey"/>.</summary>
public readonly struct PortRange : IEquatable<PortRange>
{
    /// <summary>Lowest port in the range.</summary>
    public ushort Lo { get; }

    /// <summary>Highest port in the range (inclusive).</summary>
    public ushort Hi { get; }

    /// <summary>Creates <c>lo..hi</c>; throws when <paramref name="lo"/> &gt; <paramref name="hi"/>.</summary>
    public PortRange(ushort lo, ushort hi)
    {
        if (lo > hi)
            throw new ArgumentOutOfRangeException(nameof(lo), $"Port range {lo}-{hi} is empty (lo > hi).");
        Lo = lo;
        Hi = hi;
    }

    /// <summary>A single port.</summary>
    public static PortRange Single(ushort port) => new(port, port);

    /// <summary>Every port, 0..65535.</summary>
    public static PortRange Any => new(0, ushort.MaxValue);

    /// <summary>True when this is 0..65535.</summary>
    public bool IsAny => Lo == 0 && Hi == ushort.MaxValue;

    /// <summary>Number of ports in the range.</summary>
    public int Count => Hi - Lo + 1;

    /// <summary>True when <paramref name="port"/> lies in the range.</summary>
    public bool Contains(ushort port) => port >= Lo && port <= Hi;

    /// <inheritdoc/>
    public bool Equals(PortRange other) => Lo == other.Lo && Hi == other.Hi;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is PortRange other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => (Lo << 16) | Hi;

    /// <summary>Equality.</summary>
    public static bool operator ==(PortRange left, PortRange right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(PortRange left, PortRange right) => !left.Equals(right);

    /// <inheritdoc/>
    public override string ToString() =>
        Lo == Hi ? Lo.ToString(CultureInfo.InvariantCulture) : string.Create(CultureInfo.InvariantCulture, $"{Lo}-{Hi}");
}
