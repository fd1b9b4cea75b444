using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Runtime.CompilerServices;
using Offload.Packets;

namespace Offload.Classification;

/// <summary>
/// An address prefix over the 128-bit <see cref="NetAddress"/> space. <see cref="Length"/> always counts
/// 128-bit positions: because IPv4 is held IPv4-mapped (::ffff:a.b.c.d), the IPv4 prefix a.b.c.d/n has
/// <see cref="Length"/> = n + 96 (build it with <see cref="V4(uint, int)"/>). Length 0 matches every
/// address of both families; the IPv4 /0 (length 96) matches every IPv4 address and no IPv6 one.
/// </summary>
public readonly struct AclPrefix : IEquatable<AclPrefix>
{
    private const int V4Offset = 96;

    /// <summary>Creates a prefix; host bits of <paramref name="address"/> are cleared.</summary>
    /// <param name="address">Any address inside the prefix.</param>
    /// <param name="length">Prefix length in 128-bit positions (0..128; IPv4 /n is n + 96).</param>
    public AclPrefix(NetAddress address, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, 128);
        UInt128 first = ToUInt128(address) & Mask(length);
        Address = new NetAddress((ulong)(first >> 64), (ulong)first);
        Length = (byte)length;
    }

    /// <summary>The network address (host bits zero).</summary>
    public NetAddress Address { get; }

    /// <summary>Prefix length in 128-bit positions (IPv4 /n is n + 96).</summary>
    public int Length { get; }

    /// <summary>The prefix matching every address (::/0).</summary>
    public static AclPrefix Any => default;

    /// <summary>True for an IPv4 prefix (length ≥ 96 inside ::ffff:0:0/96).</summary>
    public bool IsV4 => Length >= V4Offset && Address.IsV4;

    /// <summary>An IPv4 prefix a.b.c.d/<paramref name="v4Length"/> (0..32) from the host-order address.</summary>
    public static AclPrefix V4(uint hostOrder, int v4Length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(v4Length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(v4Length, 32);
        return new AclPrefix(NetAddress.FromV4(hostOrder), v4Length + V4Offset);
    }

    /// <summary>A prefix holding exactly one address (/32 or /128).</summary>
    public static AclPrefix Host(NetAddress address) => new(address, 128);

    /// <summary>The first address of the prefix as an integer.</summary>
    internal UInt128 First => ToUInt128(Address);

    /// <summary>The last address of the prefix as an integer.</summary>
    internal UInt128 Last => ToUInt128(Address) | ~Mask(Length);

    /// <summary>True when <paramref name="address"/> lies inside the prefix.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Contains(NetAddress address) => (ToUInt128(address) & Mask(Length)) == ToUInt128(Address);

    /// <summary>Parses "a.b.c.d/n", "x:y::/n", or a bare address (a host prefix); "any" is ::/0.</summary>
    public static AclPrefix Parse(string text) =>
        TryParse(text, out var p) ? p : throw new FormatException($"'{text}' is not an address prefix.");

    /// <summary>Parses "a.b.c.d/n", "x:y::/n", or a bare address (a host prefix); "any" is ::/0.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out AclPrefix prefix)
    {
        prefix = default;
        if (text is null)
            return false;
        if (text == "any")
            return true;
        int slash = text.IndexOf('/', StringComparison.Ordinal);
        string addressText = slash < 0 ? text : text.Substring(0, slash);
        if (!NetAddress.TryParse(addressText, out var address))
            return false;
        int max = address.IsV4 ? 32 : 128;
        int length = max;
        if (slash >= 0 &&
            (!int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out length) || length > max))
            return false;
        prefix = new AclPrefix(address, address.IsV4 ? length + V4Offset : length);
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static UInt128 ToUInt128(NetAddress address) => new(address.Hi, address.Lo);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static UInt128 Mask(int length) => length == 0 ? UInt128.Zero : UInt128.MaxValue << (128 - length);

    /// <inheritdoc/>
    public bool Equals(AclPrefix other) => Address == other.Address && Length == other.Length;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is AclPrefix other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Address, Length);

    /// <summary>Equality.</summary>
    public static bool operator ==(AclPrefix left, AclPrefix right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(AclPrefix left, AclPrefix right) => !left.Equals(right);

    /// <summary>"a.b.c.d/n" for IPv4 prefixes, "addr/n" otherwise.</summary>
    public override string ToString() => IsV4
        ? string.Create(CultureInfo.InvariantCulture, $"{Address}/{Length - V4Offset}")
        : string.Create(CultureInfo.InvariantCulture, $"{Address}/{Length}");
}
