using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Offload.Packets;

namespace Offload.Policy;

/// <summary>
/// An IPv4 or IPv6 prefix ("10.1.0.0/16", "2001:db8::/32"). <c>default</c> is <see cref="None"/>, which
/// contains and overlaps nothing, so a value that failed to parse never produces a second, spurious error.
/// </summary>
public readonly struct Prefix : IEquatable<Prefix>
{
    // Length over the 128-bit form plus one, so that default(Prefix) is distinguishable from ::/0.
    private readonly byte _length128Plus1;

    /// <summary>Creates a prefix; throws <see cref="ArgumentException"/> when host bits are set or the length is out of range.</summary>
    public Prefix(NetAddress address, int length)
    {
        int max = address.IsV4 ? 32 : 128;
        if (length < 0 || length > max)
            throw new ArgumentOutOfRangeException(nameof(length), $"A prefix length must be between 0 and {max} (was {length}).");
        int length128 = address.IsV4 ? length + 96 : length;
        if (!Masked(address, length128).Equals(address))
            throw new ArgumentException($"{address}/{length} has host bits set (did you mean {Masked(address, length128)}/{length}?).", nameof(address));
        Address = address;
        _length128Plus1 = (byte)(length128 + 1);
    }

    /// <summary>The "no prefix" value: contains and overlaps nothing.</summary>
    public static Prefix None => default;

    /// <summary>True for <see cref="None"/>.</summary>
    public bool IsNone => _length128Plus1 == 0;

    /// <summary>The network address (host bits zero).</summary>
    public NetAddress Address { get; }

    /// <summary>The prefix length in the family's terms: 0–32 for IPv4, 0–128 for IPv6.</summary>
    public int Length => IsNone ? 0 : IsV4 ? _length128Plus1 - 1 - 96 : _length128Plus1 - 1;

    /// <summary>True for an IPv4 prefix.</summary>
    public bool IsV4 => !IsNone && Address.IsV4;

    private int Length128 => _length128Plus1 - 1;

    /// <summary>True when <paramref name="address"/> is of the same family and inside the prefix.</summary>
    public bool Contains(NetAddress address) =>
        !IsNone && address.IsV4 == Address.IsV4 && Masked(address, Length128).Equals(Address);

    /// <summary>True when the two prefixes share at least one address (one contains the other). Symmetric.</summary>
    public bool Overlaps(Prefix other)
    {
        if (IsNone || other.IsNone || IsV4 != other.IsV4)
            return false;
        int shorter = Math.Min(Length128, other.Length128);
        return Masked(Address, shorter).Equals(Masked(other.Address, shorter));
    }

    /// <summary>True when every address of <paramref name="other"/> is inside this prefix.</summary>
    public bool Covers(Prefix other) =>
        !IsNone && !other.IsNone && IsV4 == other.IsV4 && Length128 <= other.Length128 && Contains(other.Address);

    /// <summary>Parses "a.b.c.d/len" or "v6::/len"; a bare address is a host prefix (/32 or /128).
    /// Throws <see cref="FormatException"/> with the reason.</summary>
    public static Prefix Parse(string text) =>
        TryParse(text, out var p, out string? error) ? p : throw new FormatException(error);

    /// <summary>Parses like <see cref="Parse"/>; false for bad input.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out Prefix prefix) => TryParse(text, out prefix, out _);

    /// <summary>Parses like <see cref="Parse"/>; on failure <paramref name="error"/> says why, in words for a user.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out Prefix prefix, [NotNullWhen(false)] out string? error)
    {
        prefix = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "expected a prefix like 10.1.0.0/16 or 2001:db8::/32, got an empty value";
            return false;
        }
        int slash = text.IndexOf('/', StringComparison.Ordinal);
        string addressText = slash < 0 ? text : text[..slash];
        // IPAddress.TryParse accepts "10" or "10.1" as shorthand; a policy should not.
        if (!NetAddress.TryParse(addressText, out var address) || (address.IsV4 && addressText.Split('.').Length != 4))
        {
            error = $"'{text}' is not a prefix like 10.1.0.0/16 or 2001:db8::/32";
            return false;
        }
        int max = address.IsV4 ? 32 : 128;
        int length = max;
        if (slash >= 0 && (!int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out length) || length > max))
        {
            error = $"'{text}' has a bad prefix length (expected 0 to {max})";
            return false;
        }
        int length128 = address.IsV4 ? length + 96 : length;
        var network = Masked(address, length128);
        if (!network.Equals(address))
        {
            error = $"'{text}' has host bits set (did you mean {network}/{length}?)";
            return false;
        }
        prefix = new Prefix(address, length);
        error = null;
        return true;
    }

    private static NetAddress Masked(NetAddress a, int length128)
    {
        ulong hiMask = length128 >= 64 ? ulong.MaxValue : length128 == 0 ? 0 : ulong.MaxValue << (64 - length128);
        int lo = length128 - 64;
        ulong loMask = lo >= 64 ? ulong.MaxValue : lo <= 0 ? 0 : ulong.MaxValue << (64 - lo);
        return new NetAddress(a.Hi & hiMask, a.Lo & loMask);
    }

    /// <inheritdoc/>
    public bool Equals(Prefix other) => _length128Plus1 == other._length128Plus1 && Address.Equals(other.Address);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is Prefix other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Address, _length128Plus1);

    /// <summary>Equality.</summary>
    public static bool operator ==(Prefix left, Prefix right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(Prefix left, Prefix right) => !left.Equals(right);

    /// <summary>"10.1.0.0/16"; "none" for <see cref="None"/>.</summary>
    public override string ToString() =>
        IsNone ? "none" : string.Create(CultureInfo.InvariantCulture, $"{Address}/{Length}");
}
