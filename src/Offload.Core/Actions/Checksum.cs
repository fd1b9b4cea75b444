using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Offload.Packets;

namespace Offload.Actions;

/// <summary>
/// The internet checksum (RFC 1071) and its incremental update (RFC 1624). Sums are kept as
/// 16-bit ones' complement values in a <see cref="uint"/> (already folded, 0..0xFFFF) so partial
/// sums of several regions (pseudo-header, header, payload) can be combined with <see cref="Add"/>.
/// Checksums are returned in host order, ready for <see cref="BinaryPrimitives.WriteUInt16BigEndian"/>.
/// </summary>
public static class Checksum
{
    /// <summary>The ones' complement sum of <paramref name="data"/> (big-endian 16-bit words, an odd
    /// last byte padded with zero) added to <paramref name="initial"/>, folded to 16 bits.</summary>
    public static uint Sum(ReadOnlySpan<byte> data, uint initial = 0)
    {
        // Ones' complement addition is associative over any word size, so summing 64-bit words with
        // end-around carry and folding at the end gives the same 16-bit result with 4x fewer adds.
        ulong acc = initial;
        int i = 0;
        for (; i + 8 <= data.Length; i += 8)
        {
            ulong w = BinaryPrimitives.ReadUInt64BigEndian(data.Slice(i));
            acc += w;
            if (acc < w)
                acc++;
        }
        if (i + 4 <= data.Length)
        {
            ulong w = BinaryPrimitives.ReadUInt32BigEndian(data.Slice(i));
            acc += w;
            if (acc < w)
                acc++;
            i += 4;
        }
        if (i + 2 <= data.Length)
        {
            ulong w = BinaryPrimitives.ReadUInt16BigEndian(data.Slice(i));
            acc += w;
            if (acc < w)
                acc++;
            i += 2;
        }
        if (i < data.Length)
        {
            ulong w = (ulong)data[i] << 8;
            acc += w;
            if (acc < w)
                acc++;
        }
        return Fold(acc);
    }

    /// <summary>Folds a wide ones' complement accumulator to 16 bits (end-around carries).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Fold(ulong sum)
    {
        sum = (sum & 0xFFFF_FFFFUL) + (sum >> 32);
        sum = (sum & 0xFFFF_FFFFUL) + (sum >> 32);
        sum = (sum & 0xFFFF) + (sum >> 16);
        sum = (sum & 0xFFFF) + (sum >> 16);
        sum = (sum & 0xFFFF) + (sum >> 16);
        return (uint)sum;
    }

    /// <summary>Ones' complement sum of two partial sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Add(uint a, uint b) => Fold((ulong)a + b);

    /// <summary>The checksum to store for a region whose ones' complement sum is <paramref name="sum"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort Finish(uint sum) => (ushort)~Fold(sum);

    /// <summary>The internet checksum of <paramref name="data"/> (with its checksum field zeroed by the caller).</summary>
    public static ushort Compute(ReadOnlySpan<byte> data) => Finish(Sum(data));

    /// <summary>True when <paramref name="data"/>, checksum field included, sums to 0xFFFF (the checksum verifies).</summary>
    public static bool Verify(ReadOnlySpan<byte> data, uint initial = 0) => Sum(data, initial) == 0xFFFF;

    /// <summary>
    /// The sum of the TCP/UDP/ICMPv6 pseudo-header: the IPv4 one (RFC 793/768: addresses, protocol,
    /// 16-bit length) when <paramref name="source"/> is IPv4, else the IPv6 one (RFC 8200 §8.1: addresses,
    /// 32-bit upper-layer length, next header).
    /// </summary>
    public static uint PseudoHeaderSum(NetAddress source, NetAddress destination, byte protocol, int upperLayerLength)
    {
        ulong acc = AddressWords(source) + AddressWords(destination) + protocol
                    + ((uint)upperLayerLength >> 16) + ((uint)upperLayerLength & 0xFFFF);
        return Fold(acc);
    }

    /// <summary>RFC 1624 eqn. 3: the checksum after one 16-bit word of the covered data changed from
    /// <paramref name="oldValue"/> to <paramref name="newValue"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort Update16(ushort checksum, ushort oldValue, ushort newValue) =>
        (ushort)~Fold((uint)(ushort)~checksum + (uint)(ushort)~oldValue + newValue);

    /// <summary>The checksum after a 32-bit field (an IPv4 address) changed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort Update32(ushort checksum, uint oldValue, uint newValue) =>
        (ushort)~Fold((ulong)(ushort)~checksum + (ushort)~(oldValue >> 16) + (ushort)~oldValue
                      + (newValue >> 16) + (newValue & 0xFFFF));

    /// <summary>The checksum after an address changed: 32 bits for IPv4 addresses, 128 bits for IPv6
    /// (both addresses must be of the same family).</summary>
    public static ushort UpdateAddress(ushort checksum, NetAddress oldAddress, NetAddress newAddress)
    {
        if (oldAddress.IsV4 && newAddress.IsV4)
            return Update32(checksum, oldAddress.V4, newAddress.V4);
        // ~x summed word by word equals 4*0xFFFF - sum(x) in ones' complement: subtracting the old words.
        ulong acc = (ushort)~checksum + (4UL * 0xFFFF * 2 - AddressWords(oldAddress)) + AddressWords(newAddress);
        return (ushort)~Fold(acc);
    }

    /// <summary>
    /// The UDP rule on top of an update or a computation: over IPv4 a stored checksum of 0 means "none"
    /// and stays 0 (pass <paramref name="original"/> = 0); a result of 0 is sent as 0xFFFF (RFC 768).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort UdpResult(ushort original, ushort updated, bool ipv4) =>
        ipv4 && original == 0 ? (ushort)0 : updated == 0 ? (ushort)0xFFFF : updated;

    // Sum of the eight 16-bit words of the 16-byte form, or the two words of an IPv4 address.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong AddressWords(NetAddress address)
    {
        if (address.IsV4)
        {
            uint v = address.V4;
            return (v >> 16) + (v & 0xFFFF);
        }
        return Words64(address.Hi) + Words64(address.Lo);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Words64(ulong w) =>
        (w >> 48) + ((w >> 32) & 0xFFFF) + ((w >> 16) & 0xFFFF) + (w & 0xFFFF);
}
