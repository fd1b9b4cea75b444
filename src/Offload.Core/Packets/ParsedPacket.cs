using System.Runtime.InteropServices;

namespace Offload.Packets;

/// <summary>The network-layer protocol of a frame.</summary>
public enum L3Kind : byte
{
    /// <summary>No network layer (not parsed, or unsupported EtherType).</summary>
    None = 0,
    /// <summary>ARP (recognised, answered or switched, never tracked).</summary>
    Arp,
    /// <summary>IPv4.</summary>
    IPv4,
    /// <summary>IPv6.</summary>
    IPv6,
}

/// <summary>The tunnel encapsulation a frame carries, if any.</summary>
public enum TunnelKind : byte
{
    /// <summary>Not a tunnel frame.</summary>
    None = 0,
    /// <summary>VXLAN (UDP 4789), VNI in the VXLAN header.</summary>
    Vxlan,
    /// <summary>GRE with a key; the key is the VNI.</summary>
    Gre,
}

/// <summary>TCP header flags.</summary>
[Flags]
public enum TcpFlags : byte
{
    /// <summary>No flags.</summary>
    None = 0,
    /// <summary>FIN.</summary>
    Fin = 0x01,
    /// <summary>SYN.</summary>
    Syn = 0x02,
    /// <summary>RST.</summary>
    Rst = 0x04,
    /// <summary>PSH.</summary>
    Psh = 0x08,
    /// <summary>ACK.</summary>
    Ack = 0x10,
    /// <summary>URG.</summary>
    Urg = 0x20,
    /// <summary>ECE.</summary>
    Ece = 0x40,
    /// <summary>CWR.</summary>
    Cwr = 0x80,
}

/// <summary>
/// What PacketParser extracted from one level of a frame: offsets into the frame plus
/// the fields the datapath needs. A mutable struct filled in place so that parsing allocates nothing;
/// when <see cref="Error"/> is not <see cref="DropReason.None"/> the fields after the failing layer are
/// unspecified. For a tunnel frame these are the outer headers and <see cref="InnerOffset"/> says where
/// the inner frame starts (parse it again from there).
/// </summary>
[StructLayout(LayoutKind.Auto)]
public struct ParsedPacket
{
    /// <summary>Why the frame is malformed or unsupported; <see cref="DropReason.None"/> when it parsed.</summary>
    public DropReason Error;

    /// <summary>Length of the frame that was parsed.</summary>
    public int FrameLength;

    // ---- L2 ----
    /// <summary>Destination MAC (for an L3-only inner packet of GRE: default).</summary>
    public MacAddress DstMac;
    /// <summary>Source MAC.</summary>
    public MacAddress SrcMac;
    /// <summary>Number of VLAN tags (0, 1 or 2).</summary>
    public byte VlanCount;
    /// <summary>Outer VLAN TCI (QinQ service tag, or the only tag).</summary>
    public ushort OuterVlanTci;
    /// <summary>Inner VLAN TCI when two tags are present.</summary>
    public ushort InnerVlanTci;
    /// <summary>EtherType after any VLAN tags.</summary>
    public ushort EtherType;

    // ---- L3 ----
    /// <summary>Network layer found.</summary>
    public L3Kind L3;
    /// <summary>Offset of the IP (or ARP) header in the frame.</summary>
    public int L3Offset;
    /// <summary>Offset just past the IP packet (IPv4 total length / IPv6 payload length); Ethernet padding lies beyond.</summary>
    public int L3End;
    /// <summary>Source IP (IPv4-mapped for IPv4).</summary>
    public NetAddress SrcIp;
    /// <summary>Destination IP.</summary>
    public NetAddress DstIp;
    /// <summary>Final L4 protocol (IPv4 protocol, or IPv6 next header after the extension chain).</summary>
    public byte Protocol;
    /// <summary>IPv4 TTL or IPv6 hop limit.</summary>
    public byte Ttl;
    /// <summary>IPv4 TOS or IPv6 traffic class.</summary>
    public byte TrafficClass;
    /// <summary>IPv4 identification (also the fragment id); for IPv6 the fragment header id.</summary>
    public uint IpId;
    /// <summary>True when this is a fragment (IPv4 MF or offset ≠ 0; IPv6 fragment header).</summary>
    public bool IsFragment;
    /// <summary>More-fragments flag.</summary>
    public bool MoreFragments;
    /// <summary>Fragment offset in bytes.</summary>
    public int FragmentOffset;
    /// <summary>Offset of the L4 header (for a non-first fragment: of the fragment's data).</summary>
    public int L4Offset;

    // ---- L4 ----
    /// <summary>True when <see cref="SrcPort"/>/<see cref="DstPort"/> were read from an L4 header
    /// (false for non-first fragments, whose flow is found by (src, dst, proto, IP id)).</summary>
    public bool HasPorts;
    /// <summary>TCP/UDP source port; ICMP/ICMPv6 identifier for queries (0 for errors).</summary>
    public ushort SrcPort;
    /// <summary>TCP/UDP destination port; ICMP/ICMPv6 (type &lt;&lt; 8) | code.</summary>
    public ushort DstPort;
    /// <summary>TCP flags.</summary>
    public TcpFlags TcpFlags;
    /// <summary>TCP sequence number.</summary>
    public uint TcpSeq;
    /// <summary>TCP acknowledgement number.</summary>
    public uint TcpAck;
    /// <summary>TCP window (unscaled).</summary>
    public ushort TcpWindow;
    /// <summary>Offset of the L4 payload.</summary>
    public int PayloadOffset;
    /// <summary>Length of the L4 payload (bounded by <see cref="L3End"/>).</summary>
    public int PayloadLength;
    /// <summary>ICMP/ICMPv6 type.</summary>
    public byte IcmpType;
    /// <summary>ICMP/ICMPv6 code.</summary>
    public byte IcmpCode;

    // ---- ICMP errors quoting a packet ----
    /// <summary>True for an ICMP/ICMPv6 error (unreachable, time exceeded, parameter problem, packet too big…)
    /// whose quoted packet was parsed into the Inner* fields.</summary>
    public bool IsIcmpError;
    /// <summary>Source IP of the quoted packet (the original sender: the error goes back to it).</summary>
    public NetAddress InnerSrcIp;
    /// <summary>Destination IP of the quoted packet.</summary>
    public NetAddress InnerDstIp;
    /// <summary>Protocol of the quoted packet.</summary>
    public byte InnerProtocol;
    /// <summary>Source port (or ICMP id) of the quoted packet.</summary>
    public ushort InnerSrcPort;
    /// <summary>Destination port (or ICMP (type&lt;&lt;8)|code) of the quoted packet.</summary>
    public ushort InnerDstPort;

    // ---- ARP ----
    /// <summary>ARP operation (1 request, 2 reply).</summary>
    public ushort ArpOperation;
    /// <summary>ARP sender hardware address.</summary>
    public MacAddress ArpSenderMac;
    /// <summary>ARP sender protocol address.</summary>
    public NetAddress ArpSenderIp;
    /// <summary>ARP target protocol address.</summary>
    public NetAddress ArpTargetIp;

    // ---- tunnel ----
    /// <summary>Tunnel encapsulation of this frame.</summary>
    public TunnelKind Tunnel;
    /// <summary>VXLAN VNI or GRE key.</summary>
    public uint Vni;
    /// <summary>Offset of the inner frame (Ethernet for VXLAN and GRE/TEB; IP for GRE carrying IP).</summary>
    public int InnerOffset;
    /// <summary>EtherType of the inner payload: <see cref="Packets.EtherType.TransparentEthernetBridging"/> for
    /// an inner Ethernet frame, or IPv4/IPv6 for GRE carrying IP directly.</summary>
    public ushort InnerEtherType;

    /// <summary>True when the frame parsed.</summary>
    public readonly bool IsValid => Error == DropReason.None;

    /// <summary>True for IPv4/IPv6 with a tracked L4 protocol and ports (or a non-first fragment).</summary>
    public readonly bool IsIp => L3 is L3Kind.IPv4 or L3Kind.IPv6;
}
