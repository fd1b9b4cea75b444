namespace Offload.Kernel.Conntrack;

/// <summary>Numbers from linux/netfilter/nfnetlink.h and nfnetlink_conntrack.h.</summary>
internal static class CtnetlinkConstants
{
    internal const byte SubsysCtnetlink = 1;
    internal const byte MsgNew = 0;
    internal const byte MsgGet = 1;
    internal const byte MsgDelete = 2;

    internal const int GroupNew = 1;
    internal const int GroupUpdate = 2;
    internal const int GroupDestroy = 3;

    internal const byte FamilyUnspec = 0;
    internal const byte FamilyInet = 2;
    internal const byte FamilyInet6 = 10;

    // enum ctattr_type
    internal const ushort TupleOrig = 1;
    internal const ushort TupleReply = 2;
    internal const ushort Status = 3;
    internal const ushort ProtoInfo = 4;
    internal const ushort Timeout = 7;
    internal const ushort Mark = 8;
    internal const ushort CountersOrig = 9;
    internal const ushort CountersReply = 10;
    internal const ushort Use = 11;
    internal const ushort Id = 12;
    internal const ushort Zone = 18;

    // enum ctattr_tuple
    internal const ushort TupleIp = 1;
    internal const ushort TupleProto = 2;
    internal const ushort TupleZone = 3;

    // enum ctattr_ip
    internal const ushort IpV4Src = 1;
    internal const ushort IpV4Dst = 2;
    internal const ushort IpV6Src = 3;
    internal const ushort IpV6Dst = 4;

    // enum ctattr_l4proto
    internal const ushort ProtoNum = 1;
    internal const ushort ProtoSrcPort = 2;
    internal const ushort ProtoDstPort = 3;
    internal const ushort ProtoIcmpId = 4;
    internal const ushort ProtoIcmpType = 5;
    internal const ushort ProtoIcmpCode = 6;
    internal const ushort ProtoIcmpV6Id = 7;
    internal const ushort ProtoIcmpV6Type = 8;
    internal const ushort ProtoIcmpV6Code = 9;

    // enum ctattr_protoinfo / ctattr_protoinfo_tcp
    internal const ushort ProtoInfoTcp = 1;
    internal const ushort ProtoInfoTcpState = 1;

    // enum ctattr_counters
    internal const ushort CountersPackets = 1;
    internal const ushort CountersBytes = 2;

    internal static ushort MessageType(byte msg) => (ushort)((SubsysCtnetlink << 8) | msg);
}
