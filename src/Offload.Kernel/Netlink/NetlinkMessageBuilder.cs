using System.Buffers.Binary;

namespace Offload.Kernel.Netlink;

/// <summary>
/// Builds one netlink request at a time into a reusable buffer: header, family header, attributes (4-byte aligned),
/// nested attributes. Header fields are host order (Offload runs on little-endian hosts); attribute values that
/// netfilter wants in network order have the <c>BigEndian</c> methods.
/// </summary>
public sealed class NetlinkMessageBuilder
{
    private const int MaxNesting = 8;
    private byte[] _buffer;
    private int _length;
    private int _messageStart = -1;
    private readonly int[] _nestStarts = new int[MaxNesting];
    private int _nestDepth;

    /// <summary>Creates a builder with an initial capacity.</summary>
    public NetlinkMessageBuilder(int capacity = 512) => _buffer = new byte[Math.Max(capacity, 64)];

    /// <summary>The bytes of the finished message(s).</summary>
    public ReadOnlySpan<byte> Written => _buffer.AsSpan(0, _length);

    /// <summary>Forgets everything written; the buffer is kept.</summary>
    public void Reset()
    {
        _length = 0;
        _messageStart = -1;
        _nestDepth = 0;
    }

    /// <summary>Starts a message; <see cref="EndMessage"/> fills its length.</summary>
    public void BeginMessage(ushort type, ushort flags, uint sequence)
    {
        if (_messageStart >= 0)
            throw new InvalidOperationException("A message is already open.");
        _messageStart = _length;
        Span<byte> h = Grow(NetlinkConstants.MessageHeaderSize);
        BinaryPrimitives.WriteUInt32LittleEndian(h, 0);
        BinaryPrimitives.WriteUInt16LittleEndian(h[4..], type);
        BinaryPrimitives.WriteUInt16LittleEndian(h[6..], flags);
        BinaryPrimitives.WriteUInt32LittleEndian(h[8..], sequence);
        // Port id 0: the kernel fills in the sender.
        BinaryPrimitives.WriteUInt32LittleEndian(h[12..], 0);
    }

    /// <summary>Appends the nfnetlink family header (struct nfgenmsg).</summary>
    public void AddNetfilterHeader(byte family, ushort resourceId = 0)
    {
        Span<byte> h = Grow(4);
        h[0] = family;
        h[1] = 0; // NFNETLINK_V0
        BinaryPrimitives.WriteUInt16BigEndian(h[2..], resourceId);
    }

    /// <summary>
    /// Appends raw bytes without an attribute header: a family header such as rtnetlink's struct ifinfomsg, also the
    /// one that opens a veth peer's nested attribute.
    /// </summary>
    public void AddFamilyHeader(ReadOnlySpan<byte> header)
    {
        if (_messageStart < 0)
            throw new InvalidOperationException("No message is open.");
        header.CopyTo(Grow(NetlinkConstants.Align(header.Length)));
    }

    /// <summary>Closes the open message and writes its length.</summary>
    public void EndMessage()
    {
        if (_messageStart < 0)
            throw new InvalidOperationException("No message is open.");
        if (_nestDepth != 0)
            throw new InvalidOperationException("A nested attribute is still open.");
        BinaryPrimitives.WriteUInt32LittleEndian(_buffer.AsSpan(_messageStart), (uint)(_length - _messageStart));
        _messageStart = -1;
    }

    /// <summary>Appends an attribute with a raw payload.</summary>
    public void AddAttribute(ushort type, ReadOnlySpan<byte> payload)
    {
        Span<byte> dst = BeginAttribute(type, payload.Length);
        payload.CopyTo(dst);
    }

    /// <summary>Appends a one-byte attribute.</summary>
    public void AddByte(ushort type, byte value) => BeginAttribute(type, 1)[0] = value;

    /// <summary>Appends a two-byte network-order attribute.</summary>
    public void AddUInt16BigEndian(ushort type, ushort value) => BinaryPrimitives.WriteUInt16BigEndian(BeginAttribute(type, 2), value);

    /// <summary>Appends a four-byte network-order attribute.</summary>
    public void AddUInt32BigEndian(ushort type, uint value) => BinaryPrimitives.WriteUInt32BigEndian(BeginAttribute(type, 4), value);

    /// <summary>Appends an eight-byte network-order attribute.</summary>
    public void AddUInt64BigEndian(ushort type, ulong value) => BinaryPrimitives.WriteUInt64BigEndian(BeginAttribute(type, 8), value);

    /// <summary>Opens a nested attribute (the NESTED flag is set); close it with <see cref="EndNested"/>.</summary>
    public void BeginNested(ushort type)
    {
        if (_nestDepth == MaxNesting)
            throw new InvalidOperationException("Nesting too deep.");
        _nestStarts[_nestDepth++] = _length;
        BeginAttribute((ushort)(type | NetlinkConstants.AttrNested), 0);
    }

    /// <summary>Closes the innermost nested attribute and writes its length.</summary>
    public void EndNested()
    {
        if (_nestDepth == 0)
            throw new InvalidOperationException("No nested attribute is open.");
        int start = _nestStarts[--_nestDepth];
        int length = _length - start;
        if (length > ushort.MaxValue)
            throw new InvalidOperationException("Nested attribute longer than 65535 bytes.");
        BinaryPrimitives.WriteUInt16LittleEndian(_buffer.AsSpan(start), (ushort)length);
    }

    private Span<byte> BeginAttribute(ushort type, int payloadLength)
    {
        if (_messageStart < 0)
            throw new InvalidOperationException("No message is open.");
        int length = NetlinkConstants.AttributeHeaderSize + payloadLength;
        if (length > ushort.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(payloadLength), "Attribute longer than 65535 bytes.");
        Span<byte> a = Grow(NetlinkConstants.Align(length));
        BinaryPrimitives.WriteUInt16LittleEndian(a, (ushort)length);
        BinaryPrimitives.WriteUInt16LittleEndian(a[2..], type);
        return a.Slice(NetlinkConstants.AttributeHeaderSize, payloadLength);
    }

    // Returns zeroed space so padding bytes are never stale data from a previous message.
    private Span<byte> Grow(int count)
    {
        if (_length + count > _buffer.Length)
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + count));
        Span<byte> span = _buffer.AsSpan(_length, count);
        span.Clear();
        _length += count;
        return span;
    }
}
