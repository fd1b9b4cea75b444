using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Offload.Flows;
using Offload.Packets;

namespace Offload.Actions;

/// <summary>
/// Rewrites addresses and ports for a <see cref="NatRewrite"/> with RFC 1624 incremental checksum
/// updates: the IPv4 header checksum, the TCP/UDP/ICMPv6 checksums (their pseudo-header covers the
/// addresses) and the ICMP identifier of queries. For an ICMP error about a translated connection the
/// quoted packet is translated too, mirrored (a DNAT of the error's destination rewrites the quoted
/// packet's source), as Linux's NAT does.
/// </summary>
internal static class NatTranslator
{
    public static DropReason Apply(in NatRewrite nat, Span<byte> f, ref ParsedPacket p)
    {
        if (nat.Kind == NatKind.None)
            return DropReason.None;
        bool v4 = p.L3 == L3Kind.IPv4;
        if (!p.IsIp || nat.Address.IsV4 != v4)
            return DropReason.ActionMismatch;
        int l3 = p.L3Offset;
        if (!ActionExecutor.Fits(f, l3, v4 ? 20 : 40))
            return v4 ? DropReason.BadIpv4Header : DropReason.BadIpv6Header;

        bool source = nat.Kind == NatKind.Source;
        NetAddress oldAddress = RewriteAddress(f, l3, v4, source, nat.Address);
        if (source)
            p.SrcIp = nat.Address;
        else
            p.DstIp = nat.Address;

        // A non-first fragment carries no L4 header: the address (and the IPv4 header checksum) is all.
        bool hasL4 = p.HasPorts && !(p.IsFragment && p.FragmentOffset > 0);
        if (p.IsIcmpError && !p.IsFragment)
            return TranslateIcmpError(in nat, f, ref p, v4, oldAddress);
        if (!hasL4)
            return DropReason.None;

        int l4 = p.L4Offset;
        ushort port = nat.Port;
        switch (p.Protocol)
        {
            case IpProtocol.Tcp:
            {
                if (!ActionExecutor.Fits(f, l4, 20))
                    return DropReason.BadTcpHeader;
                ushort checksum = Read(f, l4 + 16);
                checksum = Checksum.UpdateAddress(checksum, oldAddress, nat.Address);
                if (port != 0)
                    checksum = RewritePort(f, l4 + (source ? 0 : 2), port, checksum);
                Write(f, l4 + 16, checksum);
                break;
            }
            case IpProtocol.Udp:
            {
                if (!ActionExecutor.Fits(f, l4, 8))
                    return DropReason.BadUdpHeader;
                ushort original = Read(f, l4 + 6);
                ushort checksum = Checksum.UpdateAddress(original, oldAddress, nat.Address);
                if (port != 0)
                    checksum = RewritePort(f, l4 + (source ? 0 : 2), port, checksum);
                Write(f, l4 + 6, Checksum.UdpResult(original, checksum, v4));
                break;
            }
            case IpProtocol.Icmp:
            case IpProtocol.IcmpV6:
            {
                if (!ActionExecutor.Fits(f, l4, 8))
                    return DropReason.BadIcmpHeader;
                bool icmp6 = p.Protocol == IpProtocol.IcmpV6;
                ushort checksum = Read(f, l4 + 2);
                // ICMPv4's checksum has no pseudo-header; ICMPv6's does.
                if (icmp6)
                    checksum = Checksum.UpdateAddress(checksum, oldAddress, nat.Address);
                if (port != 0 && FlowKey.TryIcmpReplyType(p.Protocol, f[l4], out _))
                {
                    checksum = RewritePort(f, l4 + 4, port, checksum);
                    p.SrcPort = port;
                }
                Write(f, l4 + 2, checksum);
                return DropReason.None;
            }
            default:
                return DropReason.None;
        }
        if (port != 0)
        {
            if (source)
                p.SrcPort = port;
            else
                p.DstPort = port;
        }
        return DropReason.None;
    }

    private static DropReason TranslateIcmpError(in NatRewrite nat, Span<byte> f, ref ParsedPacket p, bool v4, NetAddress oldOuter)
    {
        int l4 = p.L4Offset;
        if (!ActionExecutor.Fits(f, l4, 8))
            return DropReason.BadIcmpHeader;
        ushort icmpChecksum = Read(f, l4 + 2);
        if (!v4)
            icmpChecksum = Checksum.UpdateAddress(icmpChecksum, oldOuter, nat.Address);

        // Every quoted field below sits at an even offset from the ICMP header, so each 16-bit change
        // is folded into the ICMP checksum incrementally, whatever part of the message is present.
        int q = l4 + 8;
        bool innerSource = nat.Kind == NatKind.Destination;
        int qL4;
        byte qProtocol;
        bool qHasPorts;
        NetAddress oldInner;
        if (v4)
        {
            if (!ActionExecutor.Fits(f, q, 20) || (f[q] >> 4) != 4 || (f[q] & 0xF) < 5)
                return DropReason.BadIcmpHeader;
            int ihl = (f[q] & 0xF) * 4;
            if (!ActionExecutor.Fits(f, q, ihl))
                return DropReason.BadIcmpHeader;
            int at = q + (innerSource ? 12 : 16);
            oldInner = NetAddress.FromV4Bytes(f.Slice(at));
            nat.Address.WriteTo(f.Slice(at));
            icmpChecksum = Checksum.UpdateAddress(icmpChecksum, oldInner, nat.Address);
            ushort oldIpChecksum = Read(f, q + 10);
            ushort newIpChecksum = Checksum.UpdateAddress(oldIpChecksum, oldInner, nat.Address);
            Write(f, q + 10, newIpChecksum);
            icmpChecksum = Checksum.Update16(icmpChecksum, oldIpChecksum, newIpChecksum);
            qProtocol = f[q + 9];
            qHasPorts = (Read(f, q + 6) & 0x1FFF) == 0;
            qL4 = q + ihl;
        }
        else
        {
            if (!ActionExecutor.Fits(f, q, 40) || (f[q] >> 4) != 6)
                return DropReason.BadIcmpHeader;
            int at = q + (innerSource ? 8 : 24);
            oldInner = NetAddress.FromV6Bytes(f.Slice(at));
            nat.Address.WriteTo(f.Slice(at));
            icmpChecksum = Checksum.UpdateAddress(icmpChecksum, oldInner, nat.Address);
            qProtocol = f[q + 6];
            // Ports are only found right after the fixed header; behind extension headers the quoted
            // packet gets its address translated only.
            qHasPorts = true;
            qL4 = q + 40;
        }

        ushort port = nat.Port;
        if (qHasPorts)
        {
            int portAt = qL4 + (innerSource ? 0 : 2);
            switch (qProtocol)
            {
                case IpProtocol.Tcp:
                case IpProtocol.Udp:
                {
                    ushort oldPort = 0;
                    bool portPresent = port != 0 && ActionExecutor.Fits(f, portAt, 2);
                    if (portPresent)
                    {
                        oldPort = Read(f, portAt);
                        Write(f, portAt, port);
                        icmpChecksum = Checksum.Update16(icmpChecksum, oldPort, port);
                    }
                    // The quoted L4 checksum is only fixed when the quote reaches it (ICMPv4 errors may
                    // quote just 8 bytes of TCP, as Linux also handles).
                    int csAt = qL4 + (qProtocol == IpProtocol.Tcp ? 16 : 6);
                    if (ActionExecutor.Fits(f, csAt, 2))
                    {
                        ushort oldCs = Read(f, csAt);
                        if (!(qProtocol == IpProtocol.Udp && v4 && oldCs == 0))
                        {
                            ushort cs = Checksum.UpdateAddress(oldCs, oldInner, nat.Address);
                            if (portPresent)
                                cs = Checksum.Update16(cs, oldPort, port);
                            if (qProtocol == IpProtocol.Udp)
                                cs = Checksum.UdpResult(oldCs, cs, v4);
                            Write(f, csAt, cs);
                            icmpChecksum = Checksum.Update16(icmpChecksum, oldCs, cs);
                        }
                    }
                    if (portPresent)
                    {
                        if (innerSource)
                            p.InnerSrcPort = port;
                        else
                            p.InnerDstPort = port;
                    }
                    break;
                }
                case IpProtocol.Icmp:
                case IpProtocol.IcmpV6:
                {
                    bool query = ActionExecutor.Fits(f, qL4, 8) && FlowKey.TryIcmpReplyType(qProtocol, f[qL4], out _);
                    if (!query)
                        break;
                    ushort oldCs = Read(f, qL4 + 2);
                    ushort cs = qProtocol == IpProtocol.IcmpV6 ? Checksum.UpdateAddress(oldCs, oldInner, nat.Address) : oldCs;
                    if (port != 0)
                    {
                        ushort oldId = Read(f, qL4 + 4);
                        Write(f, qL4 + 4, port);
                        icmpChecksum = Checksum.Update16(icmpChecksum, oldId, port);
                        cs = Checksum.Update16(cs, oldId, port);
                        p.InnerSrcPort = port;
                    }
                    Write(f, qL4 + 2, cs);
                    icmpChecksum = Checksum.Update16(icmpChecksum, oldCs, cs);
                    break;
                }
            }
        }
        Write(f, l4 + 2, icmpChecksum);
        if (innerSource)
            p.InnerSrcIp = nat.Address;
        else
            p.InnerDstIp = nat.Address;
        return DropReason.None;
    }

    /// <summary>Writes the new address, fixes the IPv4 header checksum, returns the old address.</summary>
    private static NetAddress RewriteAddress(Span<byte> f, int l3, bool v4, bool source, NetAddress address)
    {
        if (v4)
        {
            int at = l3 + (source ? 12 : 16);
            var old = NetAddress.FromV4Bytes(f.Slice(at));
            address.WriteTo(f.Slice(at));
            Write(f, l3 + 10, Checksum.Update32(Read(f, l3 + 10), old.V4, address.V4));
            return old;
        }
        int at6 = l3 + (source ? 8 : 24);
        var old6 = NetAddress.FromV6Bytes(f.Slice(at6));
        address.WriteTo(f.Slice(at6));
        return old6;
    }

    private static ushort RewritePort(Span<byte> f, int at, ushort port, ushort checksum)
    {
        ushort old = Read(f, at);
        Write(f, at, port);
        return Checksum.Update16(checksum, old, port);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ushort Read(Span<byte> f, int at) => BinaryPrimitives.ReadUInt16BigEndian(f.Slice(at));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Write(Span<byte> f, int at, ushort value) => BinaryPrimitives.WriteUInt16BigEndian(f.Slice(at), value);
}
