using System.Buffers.Binary;
using Offload.Packets;
using static Offload.Tests.Packets.Frames;

namespace Offload.Tests.Packets;

/// <summary>What a generated, unmutated frame must parse to.</summary>
internal readonly record struct ExpectedTuple(NetAddress Src, NetAddress Dst, byte Protocol, bool HasPorts, ushort SrcPort, ushort DstPort,
    TunnelKind Tunnel, uint Vni);

/// <summary>Builds well-formed frames from random fields: every layer the parser knows, in random combinations.</summary>
internal static class RandomFrames
{
    private static readonly ushort[] VlanTpids = [EtherType.Vlan, EtherType.QinQ, EtherType.QinQLegacy];

    public static (byte[] Frame, ExpectedTuple Expected) Build(Random rng, int depth = 0)
    {
        var tags = new (ushort, ushort)[rng.Next(3)];
        for (int i = 0; i < tags.Length; i++)
            tags[i] = (i == 0 ? VlanTpids[rng.Next(3)] : EtherType.Vlan, (ushort)rng.Next(0x10000));

        if (rng.Next(10) == 0)
        {
            var arp = Arp((ushort)rng.Next(1, 3), V4(rng).ToString(), V4(rng).ToString());
            return (Ethernet(EtherType.Arp, arp, tags), default);
        }
        bool v6 = rng.Next(2) == 0;
        var (l4, protocol, expected) = BuildL4(rng, v6, depth);
        var src = v6 ? V6(rng) : V4(rng);
        var dst = v6 ? V6(rng) : V4(rng);
        expected = expected with { Src = src, Dst = dst, Protocol = protocol };
        byte[] ip = v6 ? BuildIpv6(rng, protocol, src, dst, l4) : BuildIpv4(rng, protocol, src, dst, l4);
        if (rng.Next(4) == 0)
            ip = Concat(ip, new byte[rng.Next(1, 20)]); // Ethernet padding
        return (Ethernet(v6 ? EtherType.IPv6 : EtherType.IPv4, ip, tags), expected);
    }

    private static byte[] BuildIpv4(Random rng, byte protocol, NetAddress src, NetAddress dst, byte[] l4)
    {
        byte[]? options = null;
        if (rng.Next(4) == 0)
        {
            // NOPs, a router alert and EOL padding, always a multiple of 4.
            options = rng.Next(3) switch
            {
                0 => [1, 1, 1, 0],
                1 => [148, 4, 0, 0],
                _ => [1, 7, 7, 4, 0, 0, 0, 0],
            };
        }
        return Ipv4(protocol, src.ToString(), dst.ToString(), l4, options, id: (ushort)rng.Next(0x10000), ttl: (byte)rng.Next(256),
            tos: (byte)rng.Next(256));
    }

    private static byte[] BuildIpv6(Random rng, byte protocol, NetAddress src, NetAddress dst, byte[] l4)
    {
        int extensions = rng.Next(4) == 0 ? rng.Next(1, PacketParser.MaxIpv6ExtensionHeaders + 1) : 0;
        byte next = protocol;
        var chain = new List<byte[]> { l4 };
        for (int i = 0; i < extensions; i++)
        {
            byte[] header;
            byte type;
            switch (rng.Next(4))
            {
                case 0:
                    type = IpProtocol.Ah;
                    header = Ah(next, 4 * rng.Next(0, 4));
                    break;
                case 1:
                    type = IpProtocol.Routing;
                    header = Extension(next, rng.Next(0, 3));
                    break;
                default:
                    type = IpProtocol.DestinationOptions;
                    header = Extension(next, rng.Next(0, 3));
                    break;
            }
            chain.Insert(0, header);
            next = type;
        }
        return Ipv6(next, src.ToString(), dst.ToString(), Concat(chain.ToArray()), (byte)rng.Next(256), (byte)rng.Next(256));
    }

    private static (byte[] L4, byte Protocol, ExpectedTuple Expected) BuildL4(Random rng, bool v6, int depth)
    {
        ushort sp = (ushort)rng.Next(0x10000), dp = (ushort)rng.Next(0x10000);
        byte[] payload = new byte[rng.Next(0, 40)];
        rng.NextBytes(payload);
        switch (rng.Next(depth == 0 ? 7 : 5))
        {
            case 0:
            case 1:
                return (Tcp(sp, dp, (TcpFlags)rng.Next(256), (uint)rng.Next(), (uint)rng.Next(), 4 * rng.Next(0, 11), payload),
                    IpProtocol.Tcp, new ExpectedTuple(default, default, 0, true, sp, dp, TunnelKind.None, 0));
            case 2:
                if (dp == PacketParser.VxlanPort)
                    dp++;
                return (Udp(sp, dp, payload), IpProtocol.Udp, new ExpectedTuple(default, default, 0, true, sp, dp, TunnelKind.None, 0));
            case 3:
            {
                bool echo = rng.Next(2) == 0;
                byte type = (byte)(v6 ? (echo ? 128 : 135) : (echo ? 8 : 9));
                byte code = (byte)rng.Next(256);
                return (Icmp(type, code, sp, 1, payload), v6 ? IpProtocol.IcmpV6 : IpProtocol.Icmp,
                    new ExpectedTuple(default, default, 0, true, echo ? sp : (ushort)0, (ushort)((type << 8) | code), TunnelKind.None, 0));
            }
            case 4:
            {
                byte[] other = payload;
                return (other, 132, new ExpectedTuple(default, default, 0, false, 0, 0, TunnelKind.None, 0));
            }
            case 5:
            {
                uint vni = (uint)rng.Next(1 << 24);
                var (inner, _) = Build(rng, depth + 1);
                return (Udp(sp, PacketParser.VxlanPort, Vxlan(vni, inner)), IpProtocol.Udp,
                    new ExpectedTuple(default, default, 0, true, sp, PacketParser.VxlanPort, TunnelKind.Vxlan, vni));
            }
            default:
            {
                uint? key = rng.Next(2) == 0 ? (uint)rng.Next() : null;
                byte[] inner;
                ushort type;
                if (rng.Next(2) == 0)
                {
                    inner = Build(rng, depth + 1).Frame;
                    type = EtherType.TransparentEthernetBridging;
                }
                else
                {
                    // Random bytes to the VXLAN port would be a (bad) VXLAN header, not the plain datagram meant here.
                    if (dp == PacketParser.VxlanPort)
                        dp++;
                    inner = Ipv4(IpProtocol.Udp, "10.9.9.9", "10.8.8.8", Udp(sp, dp, payload));
                    type = EtherType.IPv4;
                }
                return (Gre(type, inner, key, rng.Next(2) == 0, rng.Next(2) == 0), IpProtocol.Gre,
                    new ExpectedTuple(default, default, 0, false, 0, 0, TunnelKind.Gre, key ?? 0));
            }
        }
    }

    /// <summary>Corrupts a frame the way broken or hostile senders do: flipped bytes, truncation, and length fields
    /// (any 16-bit word) set to random values.</summary>
    public static byte[] Mutate(Random rng, byte[] frame)
    {
        int mutations = rng.Next(1, 4);
        for (int m = 0; m < mutations && frame.Length > 0; m++)
        {
            switch (rng.Next(3))
            {
                case 0:
                    frame[rng.Next(frame.Length)] ^= (byte)rng.Next(1, 256);
                    break;
                case 1:
                    frame = frame[..rng.Next(frame.Length)];
                    break;
                default:
                    if (frame.Length >= 2)
                    {
                        ushort value = rng.Next(3) switch { 0 => 0, 1 => 0xFFFF, _ => (ushort)rng.Next(0x10000) };
                        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(rng.Next(frame.Length - 1)), value);
                    }
                    break;
            }
        }
        return frame;
    }

    private static NetAddress V4(Random rng) => NetAddress.FromV4((uint)rng.Next() | 0x0100_0000u);

    private static NetAddress V6(Random rng) => new(0x2001_0db8_0000_0000UL | (uint)rng.Next(), (ulong)rng.NextInt64());
}
