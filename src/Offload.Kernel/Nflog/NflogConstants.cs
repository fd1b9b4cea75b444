namespace Offload.Kernel.Nflog;

/// <summary>Numbers from linux/netfilter/nfnetlink_log.h and nfnetlink.h.</summary>
internal static class NflogConstants
{
    internal const byte SubsysUlog = 4;
    internal const byte MsgPacket = 0;
    internal const byte MsgConfig = 1;

    // enum nfulnl_attr_type
    internal const ushort PacketHeader = 1;
    internal const ushort Mark = 2;
    internal const ushort InputInterface = 4;
    internal const ushort OutputInterface = 5;
    internal const ushort Payload = 9;
    internal const ushort Prefix = 10;
    internal const ushort Conntrack = 18;
    internal const ushort ConntrackInfo = 19;

    // enum nfulnl_attr_config
    internal const ushort ConfigCommand = 1;
    internal const ushort ConfigMode = 2;
    internal const ushort ConfigQueueThreshold = 5;
    internal const ushort ConfigFlags = 6;

    // enum nfulnl_msg_config_cmds
    internal const byte CommandBind = 1;

    internal const byte CopyPacket = 2;
    internal const ushort FlagConntrack = 0x0004;

    // struct nfulnl_msg_packet_hdr: be16 hw_protocol, u8 hook, u8 pad.
    internal const int PacketHeaderSize = 4;
    // struct nfulnl_msg_config_mode (packed): be32 copy_range, u8 copy_mode, u8 pad.
    internal const int ConfigModeSize = 6;
    internal const int NfGenMsgSize = 4;

    // Kept here rather than in Interop.Sys.Errno: only the NFLOG config reacts to it.
    internal const int EOPNOTSUPP = 95;

    internal const byte FamilyInet = 2;
    internal const byte FamilyInet6 = 10;

    internal static ushort MessageType(byte msg) => (ushort)((SubsysUlog << 8) | msg);
}
