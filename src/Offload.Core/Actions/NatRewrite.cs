using System.Globalization;
using Offload.Packets;

namespace Offload.Actions;

/// <summary>Which side of a packet a NAT rewrite changes.</summary>
public enum NatKind : byte
{
    /// <summary>No translation.</summary>
    None = 0,
    /// <summary>SNAT: rewrite the source address (and port or ICMP identifier).</summary>
    Source,
    /// <summary>DNAT: rewrite the destination address (and port or ICMP identifier).</summary>
    Destination,
}

/// <summary>
/// The per-connection part of a NAT action, stored inline in each flow (the shared
/// <see cref="ActionProgram"/> only says "apply NAT"). <see cref="Port"/> 0 keeps the packet's port and
/// rewrites the address only; for ICMP queries the port is the ICMP identifier.
/// </summary>
public readonly struct NatRewrite : IEquatable<NatRewrite>
{
    // Declared widest first, so the struct is 24 bytes, not 32 (kind first would pad 7 bytes before the address):
    // it is stored in every flow record, whose value must fit one line with the key and counters.

    /// <summary>The new address (its family must match the packet's).</summary>
    public NetAddress Address { get; }

    /// <summary>The new port or ICMP identifier; 0 keeps the packet's.</summary>
    public ushort Port { get; }

    /// <summary>Which side is rewritten.</summary>
    public NatKind Kind { get; }

    /// <summary>Creates a rewrite.</summary>
    public NatRewrite(NatKind kind, NetAddress address, ushort port)
    {
        Kind = kind;
        Address = address;
        Port = port;
    }

    /// <summary>No translation.</summary>
    public static NatRewrite None => default;

    /// <summary>SNAT to <paramref name="address"/>:<paramref name="port"/>.</summary>
    public static NatRewrite Source(NetAddress address, ushort port = 0) => new(NatKind.Source, address, port);

    /// <summary>DNAT to <paramref name="address"/>:<paramref name="port"/>.</summary>
    public static NatRewrite Destination(NetAddress address, ushort port = 0) => new(NatKind.Destination, address, port);

    /// <summary>True when nothing is translated.</summary>
    public bool IsNone => Kind == NatKind.None;

    /// <inheritdoc/>
    public bool Equals(NatRewrite other) => Kind == other.Kind && Address == other.Address && Port == other.Port;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is NatRewrite other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Kind, Address, Port);

    /// <summary>Equality.</summary>
    public static bool operator ==(NatRewrite left, NatRewrite right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(NatRewrite left, NatRewrite right) => !left.Equals(right);

    /// <inheritdoc/>
    public override string ToString() => Kind switch
    {
        NatKind.None => "none",
        _ => string.Create(CultureInfo.InvariantCulture,
            $"{(Kind == NatKind.Source ? "snat" : "dnat")} {(Address.IsV4 ? Address.ToString() : "[" + Address + "]")}{(Port != 0 ? ":" + Port.ToString(CultureInfo.InvariantCulture) : "")}"),
    };
}
