using System.Buffers.Binary;

namespace Offload.Kernel.Netlink;

/// <summary>One netlink attribute (struct nlattr + payload) as a view into a received buffer.</summary>
public readonly ref struct NetlinkAttribute
{
    /// <summary>Creates a view.</summary>
    public NetlinkAttribute(ushort rawType, ReadOnlySpan<byte> payload)
    {
        RawType = rawType;
        Payload = payload;
    }

    /// <summary>The type field including the NESTED / NET_BYTEORDER flag bits.</summary>
    public ushort RawType { get; }

    /// <summary>The attribute type without flag bits.</summary>
    public ushort Type => (ushort)(RawType & NetlinkConstants.AttrTypeMask);

    /// <summary>Whether the sender flagged the payload as a nested attribute list.</summary>
    public bool IsNestedFlag => (RawType & NetlinkConstants.AttrNested) != 0;

    /// <summary>The payload without padding.</summary>
    public ReadOnlySpan<byte> Payload { get; }

    /// <summary>A reader over the payload as a nested attribute list.</summary>
    public NetlinkAttributeReader Nested() => new(Payload);

    /// <summary>Reads a one-byte payload.</summary>
    public bool TryGetByte(out byte value)
    {
        if (Payload.Length != 1) { value = 0; return false; }
        value = Payload[0];
        return true;
    }

    /// <summary>Reads a two-byte big-endian payload.</summary>
    public bool TryGetUInt16BigEndian(out ushort value)
    {
        if (Payload.Length != 2) { value = 0; return false; }
        value = BinaryPrimitives.ReadUInt16BigEndian(Payload);
        return true;
    }

    /// <summary>Reads a four-byte big-endian payload.</summary>
    public bool TryGetUInt32BigEndian(out uint value)
    {
        if (Payload.Length != 4) { value = 0; return false; }
        value = BinaryPrimitives.ReadUInt32BigEndian(Payload);
        return true;
    }

    /// <summary>Reads an eight-byte big-endian payload.</summary>
    public bool TryGetUInt64BigEndian(out ulong value)
    {
        if (Payload.Length != 8) { value = 0; return false; }
        value = BinaryPrimitives.ReadUInt64BigEndian(Payload);
        return true;
    }
}
