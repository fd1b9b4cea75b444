using System.Buffers.Binary;
using Offload.Flows;
using Offload.Packets;

namespace Offload.Actions;

/// <summary>Tunnel decapsulation and encapsulation in place (no copy of the inner frame).</summary>
internal static class Tunnels
{
    private const int EthernetLength = EncapTemplate.EthernetLength;

    /// <summary>First port of the ephemeral range outer UDP source ports are spread over (as Linux does).</summary>
    internal const int SourcePortMin = 49152;

    internal const int SourcePortCount = 65536 - SourcePortMin;

    public static DropReason Decapsulate(ref PacketBuffer frame, ref ParsedPacket packet, ref int outer)
    {
        if (outer <= 0 || outer > frame.Length)
            return DropReason.ActionMismatch;
        bool ipOnly = packet.IsIp && packet.L3Offset == 0;
        if (!ipOnly)
        {
            frame.Offset += outer;
            frame.Length -= outer;
            outer = 0;
            return DropReason.None;
        }

        // GRE carried bare IP: the last 14 bytes of the outer headers become an Ethernet header. Its MACs
        // start as the outer ones (the frame was addressed to this host) until MAC ops overwrite them.
        if (outer < EthernetLength + 12)
            return DropReason.ActionMismatch;
        var array = frame.Array;
        int start = frame.Offset + outer - EthernetLength;
        array.AsSpan(frame.Offset, 12).CopyTo(array.AsSpan(start, 12));
        ushort etherType = packet.L3 == L3Kind.IPv4 ? EtherType.IPv4 : EtherType.IPv6;
        BinaryPrimitives.WriteUInt16BigEndian(array.AsSpan(start + 12), etherType);
        frame.Length -= outer - EthernetLength;
        frame.Offset = start;
        outer = 0;

        packet.DstMac = MacAddress.Read(array.AsSpan(start));
        packet.SrcMac = MacAddress.Read(array.AsSpan(start + 6));
        packet.EtherType = etherType;
        packet.VlanCount = 0;
        packet.FrameLength += EthernetLength;
        packet.L3Offset += EthernetLength;
        packet.L3End += EthernetLength;
        packet.L4Offset += EthernetLength;
        packet.PayloadOffset += EthernetLength;
        return DropReason.None;
    }

    public static DropReason Encapsulate(EncapTemplate template, ref PacketBuffer frame, in ParsedPacket packet, ref int outer)
    {
        int n = template.HeaderLength;
        if (frame.Offset < n)
            return DropReason.NoHeadroom;
        int ipLength = template.IpHeaderLength;
        int innerLength = frame.Length;
        int ipPayload = n - EthernetLength - ipLength + innerLength;
        // IPv4 total length and IPv6 payload length are 16-bit fields.
        if (ipPayload + (template.IsIPv6 ? 0 : ipLength) > ushort.MaxValue)
            return DropReason.ActionMismatch;

        var array = frame.Array;
        int start = frame.Offset - n;
        var h = array.AsSpan(start, n);
        template.Header.CopyTo(h);
        var ip = h.Slice(EthernetLength);
        if (template.IsIPv6)
        {
            BinaryPrimitives.WriteUInt16BigEndian(ip.Slice(4), (ushort)ipPayload);
        }
        else
        {
            ushort total = (ushort)(ipLength + ipPayload);
            BinaryPrimitives.WriteUInt16BigEndian(ip.Slice(2), total);
            BinaryPrimitives.WriteUInt16BigEndian(ip.Slice(10), Checksum.Finish(Checksum.Add(template.IpHeaderPartialSum, total)));
        }

        if (template.Type == TunnelType.Vxlan)
        {
            var udp = ip.Slice(ipLength);
            ushort udpLength = (ushort)ipPayload;
            ushort sourcePort = SourcePort(in packet, array.AsSpan(frame.Offset, innerLength));
            BinaryPrimitives.WriteUInt16BigEndian(udp, sourcePort);
            BinaryPrimitives.WriteUInt16BigEndian(udp.Slice(4), udpLength);
            // Over IPv4 the checksum stays 0 (RFC 7348); over IPv6 it is computed (RFC 8200 §8.1) rather
            // than relying on RFC 6935's zero-checksum exemption, which receivers may not implement.
            if (template.IsIPv6)
            {
                uint sum = Checksum.Add(template.UdpPartialSum, Checksum.Fold((ulong)udpLength + udpLength + sourcePort));
                sum = Checksum.Sum(array.AsSpan(frame.Offset, innerLength), sum);
                ushort checksum = Checksum.Finish(sum);
                BinaryPrimitives.WriteUInt16BigEndian(udp.Slice(6), checksum == 0 ? (ushort)0xFFFF : checksum);
            }
        }

        frame.Offset = start;
        frame.Length += n;
        outer += n;
        return DropReason.None;
    }

    /// <summary>The outer UDP source port: a hash of the inner flow mapped into 49152–65535, so that
    /// underlay ECMP spreads tunnels by inner flow while keeping each flow on one path.</summary>
    internal static ushort SourcePort(in ParsedPacket packet, ReadOnlySpan<byte> innerFrame)
    {
        uint hash;
        if (packet.IsIp)
        {
            var key = new FlowKey(packet.SrcIp, packet.SrcPort, packet.DstIp, packet.DstPort, packet.Protocol, 0, 0);
            hash = FlowHash.SymmetricHash(in key);
        }
        else
        {
            ulong dst = innerFrame.Length >= 6 ? MacAddress.Read(innerFrame).Value : 0;
            ulong src = innerFrame.Length >= 12 ? MacAddress.Read(innerFrame.Slice(6)).Value : 0;
            var key = new FlowKey(new NetAddress(0, src), 0, new NetAddress(0, dst), 0, 0, 0, 0);
            hash = FlowHash.SymmetricHash(in key);
        }
        return (ushort)(SourcePortMin + (int)(((ulong)hash * SourcePortCount) >> 32));
    }
}
