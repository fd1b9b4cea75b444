using System.Buffers.Binary;

namespace Offload.Kernel.Netlink;

/// <summary>
/// Walks the netlink messages packed in one received datagram. Never throws: a malformed message stops the walk and
/// sets <see cref="Error"/>.
/// </summary>
public ref struct NetlinkMessageReader
{
    private ReadOnlySpan<byte> _remaining;

    /// <summary>Creates a reader over a datagram.</summary>
    public NetlinkMessageReader(ReadOnlySpan<byte> datagram)
    {
        _remaining = datagram;
        Error = NetlinkParseError.None;
    }

    /// <summary>Why the walk stopped early, or <see cref="NetlinkParseError.None"/>.</summary>
    public NetlinkParseError Error { get; private set; }

    /// <summary>Reads the next message; false at the end or on a malformed message (see <see cref="Error"/>).</summary>
    public bool TryRead(out NetlinkMessage message)
    {
        message = default;
        if (Error != NetlinkParseError.None || _remaining.IsEmpty)
            return false;
        if (_remaining.Length < NetlinkConstants.MessageHeaderSize)
            return Fail(NetlinkParseError.TruncatedHeader);
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(_remaining);
        if (length < NetlinkConstants.MessageHeaderSize)
            return Fail(NetlinkParseError.LengthTooSmall);
        if (length > (uint)_remaining.Length)
            return Fail(NetlinkParseError.LengthBeyondBuffer);
        int len = (int)length;
        message = new NetlinkMessage(
            BinaryPrimitives.ReadUInt16LittleEndian(_remaining[4..]),
            BinaryPrimitives.ReadUInt16LittleEndian(_remaining[6..]),
            BinaryPrimitives.ReadUInt32LittleEndian(_remaining[8..]),
            BinaryPrimitives.ReadUInt32LittleEndian(_remaining[12..]),
            _remaining[NetlinkConstants.MessageHeaderSize..len]);
        _remaining = _remaining[Math.Min(NetlinkConstants.Align(len), _remaining.Length)..];
        return true;
    }

    /// <summary>
    /// Reads the errno of an NLMSG_ERROR payload (0 = acknowledgement, otherwise a positive errno).
    /// False when the payload is too short to hold the error code.
    /// </summary>
    public static bool TryReadError(ReadOnlySpan<byte> errorPayload, out int errno)
    {
        if (errorPayload.Length < 4) { errno = 0; return false; }
        errno = -BinaryPrimitives.ReadInt32LittleEndian(errorPayload);
        return true;
    }

    private bool Fail(NetlinkParseError error)
    {
        Error = error;
        _remaining = default;
        return false;
    }
}
