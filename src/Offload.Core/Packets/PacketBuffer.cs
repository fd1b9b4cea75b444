namespace Offload.Packets;

/// <summary>
/// A frame inside a larger buffer: bytes <c>[Offset, Offset + Length)</c> of <see cref="Array"/>.
/// The bytes before <see cref="Offset"/> are headroom that encapsulation grows into, so a tunnel
/// header is written in place without copying the frame.
/// </summary>
public struct PacketBuffer
{
    /// <summary>The backing buffer.</summary>
    public byte[] Array;
    /// <summary>Start of the frame.</summary>
    public int Offset;
    /// <summary>Length of the frame.</summary>
    public int Length;

    /// <summary>A frame occupying <paramref name="length"/> bytes at <paramref name="offset"/>.</summary>
    public PacketBuffer(byte[] array, int offset, int length)
    {
        ArgumentNullException.ThrowIfNull(array);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(offset + length, array.Length);
        Array = array;
        Offset = offset;
        Length = length;
    }

    /// <summary>Copies <paramref name="frame"/> into a new buffer with <paramref name="headroom"/> bytes before it
    /// and <paramref name="tailroom"/> after it.</summary>
    public static PacketBuffer CopyOf(ReadOnlySpan<byte> frame, int headroom = DefaultHeadroom, int tailroom = 0)
    {
        var array = new byte[headroom + frame.Length + tailroom];
        frame.CopyTo(array.AsSpan(headroom));
        return new PacketBuffer(array, headroom, frame.Length);
    }

    /// <summary>Headroom that fits the largest encapsulation (outer Ethernet + IPv6 + UDP + VXLAN = 70 bytes) with margin.</summary>
    public const int DefaultHeadroom = 128;

    /// <summary>The frame bytes.</summary>
    public readonly Span<byte> Span => Array.AsSpan(Offset, Length);

    /// <summary>Bytes free before the frame.</summary>
    public readonly int Headroom => Offset;
}
