using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Offload.Packets;

/// <summary>
/// Zero-allocation, single-pass parser for one level of a frame (claim C1: features extracted layer by
/// layer). It never throws and never reads outside the span it is given; a malformed frame comes back
/// with <see cref="ParsedPacket.Error"/> set to the <see cref="DropReason"/> of the first layer that failed.
/// </summary>
/// <remarks>
/// A tunnel frame (VXLAN, or GRE carrying Ethernet or IP) is parsed as the outer packet only:
/// <see cref="ParsedPacket.InnerOffset"/> and <see cref="ParsedPacket.InnerEtherType"/> tell the caller
/// where to parse again (<see cref="Parse"/> for an inner Ethernet frame, <see cref="ParseL3"/> for IP).
/// Fragments never start a tunnel: the datapath cannot decapsulate a piece of a packet.
/// </remarks>
public static partial class PacketParser
{
    /// <summary>Most IPv6 extension headers followed before the chain is judged a loop or an attack
    /// (<see cref="DropReason.Ipv6ExtensionChainTooLong"/>).</summary>
    public const int MaxIpv6ExtensionHeaders = 8;

    /// <summary>Most stacked VLAN tags (802.1ad service tag + 802.1Q customer tag).</summary>
    public const int MaxVlanTags = 2;

    /// <summary>IANA UDP destination port of VXLAN.</summary>
    public const ushort VxlanPort = 4789;

    private const int EthernetHeaderLength = 14;
    private const int VlanTagLength = 4;
    private const int ArpIpv4Length = 28;

    /// <summary>Parses an Ethernet frame: Ethernet II, up to two VLAN tags, then ARP, IPv4 or IPv6 and L4.</summary>
    /// <param name="frame">The whole frame, starting at the destination MAC.</param>
    /// <param name="packet">Filled in place; offsets are relative to <paramref name="frame"/>.</param>
    public static void Parse(ReadOnlySpan<byte> frame, out ParsedPacket packet)
    {
        packet = default;
        packet.FrameLength = frame.Length;
        if (frame.Length < EthernetHeaderLength)
        {
            packet.Error = DropReason.TruncatedEthernet;
            return;
        }

        packet.DstMac = MacAddress.Read(frame);
        packet.SrcMac = MacAddress.Read(frame.Slice(6));
        ushort etherType = BinaryPrimitives.ReadUInt16BigEndian(frame.Slice(12));
        int offset = EthernetHeaderLength;

        while (IsVlanTpid(etherType))
        {
            if (packet.VlanCount == MaxVlanTags || frame.Length - offset < VlanTagLength)
            {
                packet.Error = DropReason.BadVlan;
                return;
            }
            ushort tci = BinaryPrimitives.ReadUInt16BigEndian(frame.Slice(offset));
            if (packet.VlanCount == 0)
                packet.OuterVlanTci = tci;
            else
                packet.InnerVlanTci = tci;
            packet.VlanCount++;
            etherType = BinaryPrimitives.ReadUInt16BigEndian(frame.Slice(offset + 2));
            offset += VlanTagLength;
        }

        packet.EtherType = etherType;
        ParseNetwork(frame, offset, etherType, ref packet);
    }

    /// <summary>Parses an IP packet that has no Ethernet header (the payload of GRE carrying IP).</summary>
    /// <param name="packet">The IP packet; <see cref="ParsedPacket.L3Offset"/> will be 0.</param>
    /// <param name="etherType">The protocol type that announced it (IPv4 or IPv6; ARP is accepted too).</param>
    /// <param name="parsed">Filled in place; MACs and VLAN fields stay default.</param>
    public static void ParseL3(ReadOnlySpan<byte> packet, ushort etherType, out ParsedPacket parsed)
    {
        parsed = default;
        parsed.FrameLength = packet.Length;
        parsed.EtherType = etherType;
        ParseNetwork(packet, 0, etherType, ref parsed);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsVlanTpid(ushort etherType) =>
        etherType is EtherType.Vlan or EtherType.QinQ or EtherType.QinQLegacy;

    private static void ParseNetwork(ReadOnlySpan<byte> frame, int offset, ushort etherType, ref ParsedPacket p)
    {
        p.L3Offset = offset;
        switch (etherType)
        {
            case EtherType.IPv4:
                ParseIpv4(frame, offset, ref p);
                break;
            case EtherType.IPv6:
                ParseIpv6(frame, offset, ref p);
                break;
            case EtherType.Arp:
                ParseArp(frame, offset, ref p);
                break;
            default:
                // Also catches 802.3 frames, whose "EtherType" is a length below 0x0600 (LLC/SNAP, STP, CDP …).
                p.Error = DropReason.UnsupportedEtherType;
                break;
        }
    }

    private static void ParseArp(ReadOnlySpan<byte> frame, int offset, ref ParsedPacket p)
    {
        p.L3 = L3Kind.Arp;
        if (frame.Length - offset < ArpIpv4Length)
        {
            p.Error = DropReason.BadArp;
            return;
        }
        ReadOnlySpan<byte> arp = frame.Slice(offset, ArpIpv4Length);
        // Only Ethernet (1) / IPv4 with 6-byte and 4-byte addresses: the switch answers nothing else.
        if (BinaryPrimitives.ReadUInt16BigEndian(arp) != 1 || BinaryPrimitives.ReadUInt16BigEndian(arp.Slice(2)) != EtherType.IPv4 ||
            arp[4] != 6 || arp[5] != 4)
        {
            p.Error = DropReason.BadArp;
            return;
        }
        p.L3End = offset + ArpIpv4Length;
        p.ArpOperation = BinaryPrimitives.ReadUInt16BigEndian(arp.Slice(6));
        p.ArpSenderMac = MacAddress.Read(arp.Slice(8));
        p.ArpSenderIp = NetAddress.FromV4Bytes(arp.Slice(14));
        p.ArpTargetIp = NetAddress.FromV4Bytes(arp.Slice(24));
    }
}
