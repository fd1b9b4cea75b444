namespace Offload.Kernel.Netlink;

/// <summary>One netlink message (struct nlmsghdr + payload) as a view into a received buffer.</summary>
public readonly ref struct NetlinkMessage
{
    /// <summary>Creates a view.</summary>
    public NetlinkMessage(ushort type, ushort flags, uint sequence, uint portId, ReadOnlySpan<byte> payload)
    {
        Type = type;
        Flags = flags;
        Sequence = sequence;
        PortId = portId;
        Payload = payload;
    }

    /// <summary>nlmsg_type.</summary>
    public ushort Type { get; }
    /// <summary>nlmsg_flags.</summary>
    public ushort Flags { get; }
    /// <summary>nlmsg_seq.</summary>
    public uint Sequence { get; }
    /// <summary>nlmsg_pid.</summary>
    public uint PortId { get; }
    /// <summary>Everything after the 16-byte header, up to nlmsg_len.</summary>
    public ReadOnlySpan<byte> Payload { get; }
}
