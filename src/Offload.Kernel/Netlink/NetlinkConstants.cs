namespace Offload.Kernel.Netlink;

/// <summary>Values from linux/netlink.h that callers need to build requests.</summary>
public static class NetlinkConstants
{
    /// <summary>Size of struct nlmsghdr.</summary>
    public const int MessageHeaderSize = 16;
    /// <summary>Size of struct nlattr.</summary>
    public const int AttributeHeaderSize = 4;
    /// <summary>Netlink protocol family of netfilter (nfnetlink).</summary>
    public const int ProtocolNetfilter = 12;

    /// <summary>Message type: no operation.</summary>
    public const ushort MsgNoop = 1;
    /// <summary>Message type: error or acknowledgement (error 0).</summary>
    public const ushort MsgError = 2;
    /// <summary>Message type: end of a multi-part dump.</summary>
    public const ushort MsgDone = 3;
    /// <summary>Message type: data lost.</summary>
    public const ushort MsgOverrun = 4;

    /// <summary>Flag: a request.</summary>
    public const ushort FlagRequest = 0x1;
    /// <summary>Flag: part of a multi-part reply.</summary>
    public const ushort FlagMulti = 0x2;
    /// <summary>Flag: ask for an acknowledgement.</summary>
    public const ushort FlagAck = 0x4;
    /// <summary>Flag: the dump was interrupted by a change and may be inconsistent.</summary>
    public const ushort FlagDumpInterrupted = 0x10;
    /// <summary>Flag (GET requests): return every object (ROOT|MATCH).</summary>
    public const ushort FlagDump = 0x300;
    /// <summary>Flag (NEW requests): replace an existing object.</summary>
    public const ushort FlagReplace = 0x100;
    /// <summary>Flag (NEW requests): fail if the object exists.</summary>
    public const ushort FlagExclusive = 0x200;
    /// <summary>Flag (NEW requests): create the object if it does not exist.</summary>
    public const ushort FlagCreate = 0x400;

    /// <summary>Attribute type bit: the payload is a nested attribute list.</summary>
    public const ushort AttrNested = 0x8000;
    /// <summary>Attribute type bit: the payload is in network byte order.</summary>
    public const ushort AttrNetByteOrder = 0x4000;
    /// <summary>Mask of the attribute type without the two flag bits.</summary>
    public const ushort AttrTypeMask = 0x3FFF;

    internal const int AddressFamilyNetlink = 16;
    internal const int SocketRaw = 3;
    internal const int SocketCloseOnExec = 0x80000;
    internal const int SolNetlink = 270;
    internal const int SolSocket = 1;
    internal const int SoRcvBuf = 8;
    internal const int SoRcvTimeout = 20;
    internal const int OptAddMembership = 1;
    internal const int OptDropMembership = 2;
    internal const int OptCapAck = 10;
    internal const int OptExtAck = 11;

    /// <summary>Rounds a length up to the netlink alignment (4 bytes).</summary>
    public static int Align(int length) => (length + 3) & ~3;
}
