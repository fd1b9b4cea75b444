using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace Offload.Packets;

/// <summary>
/// An IPv4 or IPv6 address in 16 bytes, IPv4 held as IPv4-mapped IPv6 (::ffff:a.b.c.d) so that one
/// fixed-size, blittable key type covers both families without a branch on the lookup path.
/// </summary>
public readonly struct NetAddress : IEquatable<NetAddress>, IComparable<NetAddress>, ISpanFormattable
{
    private const ulong V4MappedLoPrefix = 0x0000_FFFF_0000_0000UL;

    /// <summary>First 8 bytes of the address as a big-endian integer.</summary>
    public readonly ulong Hi;

    /// <summary>Last 8 bytes of the address as a big-endian integer.</summary>
    public readonly ulong Lo;

    /// <summary>Creates an address from its two big-endian halves.</summary>
    public NetAddress(ulong hi, ulong lo)
    {
        Hi = hi;
        Lo = lo;
    }

    /// <summary>The unspecified address (::); also the "no address" value.</summary>
    public static NetAddress None => default;

    /// <summary>True for an IPv4 address (held IPv4-mapped).</summary>
    public bool IsV4
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Hi == 0 && (Lo & 0xFFFF_FFFF_0000_0000UL) == V4MappedLoPrefix;
    }

    /// <summary>The IPv4 address as a host-order integer (a.b.c.d = a&lt;&lt;24 | …); 0 for IPv6.</summary>
    public uint V4 => IsV4 ? (uint)Lo : 0u;

    /// <summary>True for :: (no address).</summary>
    public bool IsNone => Hi == 0 && Lo == 0;

    /// <summary>An IPv4 address from its host-order integer value.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static NetAddress FromV4(uint hostOrder) => new(0, V4MappedLoPrefix | hostOrder);

    /// <summary>Reads 4 (IPv4) or 16 (IPv6) network-order bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static NetAddress FromV4Bytes(ReadOnlySpan<byte> bytes4) => FromV4(BinaryPrimitives.ReadUInt32BigEndian(bytes4));

    /// <summary>Reads 16 network-order bytes of an IPv6 address.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static NetAddress FromV6Bytes(ReadOnlySpan<byte> bytes16) =>
        new(BinaryPrimitives.ReadUInt64BigEndian(bytes16), BinaryPrimitives.ReadUInt64BigEndian(bytes16.Slice(8)));

    /// <summary>Writes the address in network order: 4 bytes for IPv4, 16 for IPv6. Returns the bytes written.</summary>
    public int WriteTo(Span<byte> destination)
    {
        if (IsV4)
        {
            BinaryPrimitives.WriteUInt32BigEndian(destination, (uint)Lo);
            return 4;
        }
        BinaryPrimitives.WriteUInt64BigEndian(destination, Hi);
        BinaryPrimitives.WriteUInt64BigEndian(destination.Slice(8), Lo);
        return 16;
    }

    /// <summary>Converts from <see cref="IPAddress"/> (control plane only: allocates).</summary>
    public static NetAddress FromIPAddress(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        Span<byte> b = stackalloc byte[16];
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            address.TryWriteBytes(b, out _);
            return FromV4Bytes(b);
        }
        if (address.IsIPv4MappedToIPv6)
            return FromIPAddress(address.MapToIPv4());
        address.TryWriteBytes(b, out _);
        return FromV6Bytes(b);
    }

    /// <summary>Converts to <see cref="IPAddress"/> (control plane only: allocates).</summary>
    public IPAddress ToIPAddress()
    {
        Span<byte> b = stackalloc byte[16];
        int n = WriteTo(b);
        return new IPAddress(b.Slice(0, n));
    }

    /// <summary>Parses dotted IPv4 or textual IPv6.</summary>
    public static NetAddress Parse(string text) =>
        TryParse(text, out var a) ? a : throw new FormatException($"'{text}' is not an IP address.");

    /// <summary>Parses dotted IPv4 or textual IPv6.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out NetAddress address)
    {
        if (text is not null && IPAddress.TryParse(text, out var ip))
        {
            address = FromIPAddress(ip);
            return true;
        }
        address = default;
        return false;
    }

    /// <inheritdoc/>
    public bool Equals(NetAddress other) => Hi == other.Hi && Lo == other.Lo;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is NetAddress other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Hi, Lo);

    /// <inheritdoc/>
    public int CompareTo(NetAddress other) => Hi != other.Hi ? Hi.CompareTo(other.Hi) : Lo.CompareTo(other.Lo);

    /// <summary>Equality.</summary>
    public static bool operator ==(NetAddress left, NetAddress right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(NetAddress left, NetAddress right) => !left.Equals(right);

    /// <inheritdoc/>
    public override string ToString() => ToIPAddress().ToString();

    /// <inheritdoc/>
    public string ToString(string? format, IFormatProvider? formatProvider) => ToString();

    /// <inheritdoc/>
    public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format, IFormatProvider? provider) =>
        ToIPAddress().TryFormat(destination, out charsWritten);
}
