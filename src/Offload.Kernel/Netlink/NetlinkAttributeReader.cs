using System.Buffers.Binary;

namespace Offload.Kernel.Netlink;

/// <summary>
/// Walks a list of netlink attributes. Never throws: a malformed list stops the walk and sets <see cref="Error"/>,
/// because the bytes come from a socket and a bad one must not take the process down.
/// </summary>
public ref struct NetlinkAttributeReader
{
    private ReadOnlySpan<byte> _remaining;

    /// <summary>Creates a reader over an attribute list.</summary>
    public NetlinkAttributeReader(ReadOnlySpan<byte> attributes)
    {
        _remaining = attributes;
        Error = NetlinkParseError.None;
    }

    /// <summary>Why the walk stopped early, or <see cref="NetlinkParseError.None"/>.</summary>
    public NetlinkParseError Error { get; private set; }

    /// <summary>Reads the next attribute; false at the end of the list or on a malformed attribute (see <see cref="Error"/>).</summary>
    public bool TryRead(out NetlinkAttribute attribute)
    {
        attribute = default;
        if (Error != NetlinkParseError.None || _remaining.IsEmpty)
            return false;
        if (_remaining.Length < NetlinkConstants.AttributeHeaderSize)
            return Fail(NetlinkParseError.TruncatedHeader);
        int length = BinaryPrimitives.ReadUInt16LittleEndian(_remaining);
        ushort type = BinaryPrimitives.ReadUInt16LittleEndian(_remaining[2..]);
        if (length < NetlinkConstants.AttributeHeaderSize)
            return Fail(NetlinkParseError.LengthTooSmall);
        if (length > _remaining.Length)
            return Fail(NetlinkParseError.LengthBeyondBuffer);
        attribute = new NetlinkAttribute(type, _remaining[NetlinkConstants.AttributeHeaderSize..length]);
        // The last attribute's padding may be missing; that is legal, so clamp rather than fail.
        int advance = Math.Min(NetlinkConstants.Align(length), _remaining.Length);
        _remaining = _remaining[advance..];
        return true;
    }

    private bool Fail(NetlinkParseError error)
    {
        Error = error;
        _remaining = default;
        return false;
    }
}
