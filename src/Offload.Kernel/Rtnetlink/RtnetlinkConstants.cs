namespace Offload.Kernel.Rtnetlink;

/// <summary>Values from linux/rtnetlink.h, if_link.h, if_addr.h, neighbour.h and veth.h that requests need.</summary>
internal static class RtnetlinkConstants
{
    internal const int ProtocolRoute = 0; // NETLINK_ROUTE

    internal const ushort NewLink = 16, DelLink = 17, GetLink = 18, SetLink = 19;
    internal const ushort NewAddress = 20, DelAddress = 21;
    internal const ushort NewRoute = 24, DelRoute = 25;
    internal const ushort NewNeighbour = 28, DelNeighbour = 29;

    internal const byte FamilyUnspec = 0, FamilyInet = 2, FamilyInet6 = 10;

    internal const int InfoHeaderSize = 16;   // struct ifinfomsg
    internal const int AddressHeaderSize = 8; // struct ifaddrmsg
    internal const int RouteHeaderSize = 12;  // struct rtmsg
    internal const int NeighbourHeaderSize = 12; // struct ndmsg

    internal const ushort IflaAddress = 1, IflaIfName = 3, IflaMtu = 4, IflaLink = 5, IflaMaster = 10, IflaOperState = 16,
        IflaLinkInfo = 18, IflaIfAlias = 20, IflaNetNsFd = 28;
    internal const ushort InfoKind = 1, InfoData = 2;
    internal const ushort VethInfoPeer = 1;
    internal const ushort VxlanId = 1, VxlanGroup = 2, VxlanLink = 3, VxlanLocal = 4, VxlanLearning = 7, VxlanPort = 15,
        VxlanGroup6 = 16, VxlanLocal6 = 17;

    internal const ushort IfaAddress = 1, IfaLocal = 2;
    internal const byte IfaFlagNoDad = 0x02;

    internal const ushort RtaDestination = 1, RtaOutputInterface = 4, RtaGateway = 5, RtaPriority = 6, RtaTable = 15;
    internal const byte RouteTableMain = 254, RouteProtocolStatic = 4, RouteScopeUniverse = 0, RouteScopeLink = 253,
        RouteTypeUnicast = 1;

    internal const ushort NdaDestination = 1, NdaLinkAddress = 2;
    internal const ushort NudPermanent = 0x80;

    internal const uint InterfaceUp = 0x1; // IFF_UP
    internal const int ENODEV = 19;
}
