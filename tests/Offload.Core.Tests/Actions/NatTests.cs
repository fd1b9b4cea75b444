using System.Buffers.Binary;
using System.Net;
using Offload.Actions;
using Offload.Packets;
using Offload.Tests.TestSupport;
using CsCheck;
using PacketDotNet;

namespace Offload.Tests.Actions;

public class NatTests
{
    private static readonly ActionProgram NatProgram = Exec.Output(b => b.ApplyNat(), port: 2);

    private static Packet Decode(byte[] frame) => Packet.ParsePacket(LinkLayers.Ethernet, frame);

    [Fact]
    public void Apply_SnatIpv4Tcp_RewritesSourceAndKeepsChecksumsValid()
    {
        var frame = FrameBuilder.TcpFrame("10.1.0.1", 40000, "198.51.100.7", 443);
        var r = Exec.Run(NatProgram, NatRewrite.Source(NetAddress.Parse("203.0.113.5"), 1024), frame);

        r.Outcome.Should().Be(ActionOutcome.Output(2));
        var ip = Decode(r.Bytes).Extract<IPv4Packet>();
        var tcp = Decode(r.Bytes).Extract<TcpPacket>();
        ip.SourceAddress.Should().Be(IPAddress.Parse("203.0.113.5"));
        ip.DestinationAddress.Should().Be(IPAddress.Parse("198.51.100.7"));
        tcp.SourcePort.Should().Be(1024);
        tcp.DestinationPort.Should().Be(443);
        ip.ValidIPChecksum.Should().BeTrue();
        tcp.ValidTcpChecksum.Should().BeTrue();
        r.Packet.SrcIp.Should().Be(NetAddress.Parse("203.0.113.5"));
        r.Packet.SrcPort.Should().Be(1024);
        r.Packet.DstPort.Should().Be(443);
    }

    [Fact]
    public void Apply_DnatIpv4Tcp_RewritesDestination()
    {
        var frame = FrameBuilder.TcpFrame("198.51.100.7", 5555, "10.1.255.10", 80);
        var r = Exec.Run(NatProgram, NatRewrite.Destination(NetAddress.Parse("10.1.0.3"), 8080), frame);

        var ip = Decode(r.Bytes).Extract<IPv4Packet>();
        var tcp = Decode(r.Bytes).Extract<TcpPacket>();
        ip.SourceAddress.Should().Be(IPAddress.Parse("198.51.100.7"));
        ip.DestinationAddress.Should().Be(IPAddress.Parse("10.1.0.3"));
        tcp.SourcePort.Should().Be(5555);
        tcp.DestinationPort.Should().Be(8080);
        ip.ValidIPChecksum.Should().BeTrue();
        tcp.ValidTcpChecksum.Should().BeTrue();
    }

    [Fact]
    public void Apply_PortZero_RewritesAddressOnly()
    {
        var frame = FrameBuilder.TcpFrame("10.1.0.1", 40000, "198.51.100.7", 443);
        var r = Exec.Run(NatProgram, NatRewrite.Source(NetAddress.Parse("203.0.113.5")), frame);

        var tcp = Decode(r.Bytes).Extract<TcpPacket>();
        tcp.SourcePort.Should().Be(40000);
        tcp.ValidTcpChecksum.Should().BeTrue();
        Decode(r.Bytes).Extract<IPv4Packet>().SourceAddress.Should().Be(IPAddress.Parse("203.0.113.5"));
    }

    [Fact]
    public void Apply_DnatIpv4UdpWithChecksum_KeepsChecksumValid()
    {
        var frame = FrameBuilder.UdpFrame("198.51.100.7", 5353, "203.0.113.5", 1024);
        var r = Exec.Run(NatProgram, NatRewrite.Destination(NetAddress.Parse("10.1.0.1"), 53), frame);

        var udp = Decode(r.Bytes).Extract<UdpPacket>();
        udp.DestinationPort.Should().Be(53);
        udp.Checksum.Should().NotBe(0);
        udp.ValidUdpChecksum.Should().BeTrue();
        Decode(r.Bytes).Extract<IPv4Packet>().ValidIPChecksum.Should().BeTrue();
    }

    [Fact]
    public void Apply_SnatIpv4UdpWithoutChecksum_LeavesChecksumZero()
    {
        var frame = FrameBuilder.UdpFrame("10.1.0.1", 5353, "198.51.100.7", 53, withChecksum: false);
        var r = Exec.Run(NatProgram, NatRewrite.Source(NetAddress.Parse("203.0.113.5"), 2000), frame);

        var udp = Decode(r.Bytes).Extract<UdpPacket>();
        udp.SourcePort.Should().Be(2000);
        udp.Checksum.Should().Be(0);
        Decode(r.Bytes).Extract<IPv4Packet>().ValidIPChecksum.Should().BeTrue();
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Apply_UdpWhoseNewChecksumComputesToZero_SendsFfff(bool v4)
    {
        var oldSrc = NetAddress.Parse(v4 ? "10.1.0.1" : "fd00::1");
        var newSrc = NetAddress.Parse(v4 ? "203.0.113.5" : "2001:db8::5");
        var dst = NetAddress.Parse(v4 ? "198.51.100.7" : "2001:db8::7");
        // Choose the last payload word so that, after NAT, the segment sums to 0xFFFF (computed checksum 0).
        var payload = FrameBuilder.Payload(16);
        payload[14] = payload[15] = 0;
        var after = FrameBuilder.Udp(newSrc, dst, 1000, 53, payload, withChecksum: false);
        uint sum = FrameBuilder.ReferenceSum(after, FrameBuilder.ReferenceSum(FrameBuilder.PseudoHeader(newSrc, dst, 17, after.Length)));
        BinaryPrimitives.WriteUInt16BigEndian(payload.AsSpan(14), (ushort)(0xFFFF - sum));
        var frame = FrameBuilder.IpFrame(oldSrc, dst, 17, FrameBuilder.Udp(oldSrc, dst, 1000, 53, payload));

        var r = Exec.Run(NatProgram, NatRewrite.Source(newSrc), frame);

        var udp = Decode(r.Bytes).Extract<UdpPacket>();
        udp.Checksum.Should().Be(0xFFFF);
        udp.ValidUdpChecksum.Should().BeTrue();
    }

    [Fact]
    public void Apply_SnatIpv6Tcp_KeepsChecksumValid()
    {
        var frame = FrameBuilder.TcpFrame("fd00:1::1", 40000, "2001:db8::7", 443);
        var r = Exec.Run(NatProgram, NatRewrite.Source(NetAddress.Parse("2001:db8:ffff::5"), 61000), frame);

        var ip = Decode(r.Bytes).Extract<IPv6Packet>();
        var tcp = Decode(r.Bytes).Extract<TcpPacket>();
        ip.SourceAddress.Should().Be(IPAddress.Parse("2001:db8:ffff::5"));
        tcp.SourcePort.Should().Be(61000);
        tcp.ValidTcpChecksum.Should().BeTrue();
    }

    [Fact]
    public void Apply_DnatIpv6Udp_KeepsChecksumValid()
    {
        var frame = FrameBuilder.UdpFrame("2001:db8::7", 5000, "fd00:ffff::10", 53);
        var r = Exec.Run(NatProgram, NatRewrite.Destination(NetAddress.Parse("fd00:1::3"), 5353), frame);

        var ip = Decode(r.Bytes).Extract<IPv6Packet>();
        var udp = Decode(r.Bytes).Extract<UdpPacket>();
        ip.DestinationAddress.Should().Be(IPAddress.Parse("fd00:1::3"));
        udp.DestinationPort.Should().Be(5353);
        udp.ValidUdpChecksum.Should().BeTrue();
    }

    [Fact]
    public void Apply_SnatIcmpEcho_RewritesIdentifierAndChecksum()
    {
        var frame = FrameBuilder.EchoFrame("10.1.0.1", "198.51.100.7", id: 0x4242);
        var r = Exec.Run(NatProgram, NatRewrite.Source(NetAddress.Parse("203.0.113.5"), 0x0777), frame);

        var icmp = Decode(r.Bytes).Extract<IcmpV4Packet>();
        icmp.Id.Should().Be(0x0777);
        icmp.ValidIcmpChecksum.Should().BeTrue();
        Decode(r.Bytes).Extract<IPv4Packet>().ValidIPChecksum.Should().BeTrue();
        r.Packet.SrcPort.Should().Be(0x0777);
    }

    [Fact]
    public void Apply_DnatIcmpv6EchoReply_RewritesAddressIdentifierAndPseudoHeaderChecksum()
    {
        var frame = FrameBuilder.EchoFrame("2001:db8::7", "2001:db8:ffff::5", id: 0x0777, request: false);
        var r = Exec.Run(NatProgram, NatRewrite.Destination(NetAddress.Parse("fd00:1::1"), 0x4242), frame);

        var bytes = r.Bytes;
        NetAddress.FromV6Bytes(bytes.AsSpan(14 + 24)).Should().Be(NetAddress.Parse("fd00:1::1"));
        BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan(54 + 4)).Should().Be(0x4242);
        Decode(bytes).Extract<IcmpV6Packet>().ValidIcmpChecksum.Should().BeTrue();
        var icmp = bytes.AsSpan(54).ToArray();
        FrameBuilder.ReferenceSum(icmp, FrameBuilder.ReferenceSum(
            FrameBuilder.PseudoHeader(NetAddress.Parse("2001:db8::7"), NetAddress.Parse("fd00:1::1"), 58, icmp.Length))).Should().Be(0xFFFF);
    }

    [Fact]
    public void Apply_NonFirstFragment_RewritesAddressOnly()
    {
        var src = NetAddress.Parse("10.1.0.1");
        var dst = NetAddress.Parse("198.51.100.7");
        var data = FrameBuilder.Payload(40);
        // Offset 185 × 8 bytes, no more fragments: the data is not an L4 header and must stay untouched.
        var frame = FrameBuilder.Ethernet(FrameBuilder.MacB, FrameBuilder.MacA, EtherType.IPv4,
            FrameBuilder.Ip(src, dst, 17, data, flagsAndOffset: 185));

        var r = Exec.Run(NatProgram, NatRewrite.Source(NetAddress.Parse("203.0.113.5"), 2000), frame);

        r.Outcome.Verdict.Should().Be(ActionVerdict.Output);
        var ip = Decode(r.Bytes).Extract<IPv4Packet>();
        ip.SourceAddress.Should().Be(IPAddress.Parse("203.0.113.5"));
        ip.ValidIPChecksum.Should().BeTrue();
        r.Bytes.AsSpan(34).ToArray().Should().Equal(data);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Apply_IcmpErrorAboutSnatedUdp_TranslatesQuotedPacketAndChecksums(bool v4)
    {
        // VM 10.1.0.1:1234 was SNATed to 203.0.113.5:40000; a router sends "port unreachable" about it.
        var vm = NetAddress.Parse(v4 ? "10.1.0.1" : "fd00:1::1");
        var pub = NetAddress.Parse(v4 ? "203.0.113.5" : "2001:db8:ffff::5");
        var server = NetAddress.Parse(v4 ? "198.51.100.7" : "2001:db8::7");
        var router = NetAddress.Parse(v4 ? "198.51.100.1" : "2001:db8::1");
        var quoted = FrameBuilder.Ip(pub, server, 17, FrameBuilder.Udp(pub, server, 40000, 53, FrameBuilder.Payload(12)));
        var icmp = FrameBuilder.Icmp(router, pub, v4 ? (byte)3 : (byte)1, v4 ? (byte)3 : (byte)4, 0, quoted);
        var frame = FrameBuilder.IpFrame(router, pub, v4 ? (byte)1 : (byte)58, icmp);

        // The reply direction un-NATs: a DNAT back to the VM.
        var r = Exec.Run(NatProgram, NatRewrite.Destination(vm, 1234), frame);

        r.Outcome.Verdict.Should().Be(ActionVerdict.Output);
        var bytes = r.Bytes;
        int l3 = 14, l4 = v4 ? 34 : 54, q = l4 + 8, qL4 = q + (v4 ? 20 : 40);
        var outerDst = v4 ? NetAddress.FromV4Bytes(bytes.AsSpan(l3 + 16)) : NetAddress.FromV6Bytes(bytes.AsSpan(l3 + 24));
        var innerSrc = v4 ? NetAddress.FromV4Bytes(bytes.AsSpan(q + 12)) : NetAddress.FromV6Bytes(bytes.AsSpan(q + 8));
        outerDst.Should().Be(vm);
        innerSrc.Should().Be(vm);
        BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan(qL4)).Should().Be(1234);
        if (v4)
        {
            FrameBuilder.ReferenceSum(bytes.AsSpan(l3, 20)).Should().Be(0xFFFF, "outer IPv4 header checksum");
            FrameBuilder.ReferenceSum(bytes.AsSpan(q, 20)).Should().Be(0xFFFF, "quoted IPv4 header checksum");
            FrameBuilder.ReferenceSum(bytes.AsSpan(l4)).Should().Be(0xFFFF, "ICMP checksum");
        }
        else
        {
            FrameBuilder.ReferenceSum(bytes.AsSpan(l4), FrameBuilder.ReferenceSum(
                FrameBuilder.PseudoHeader(router, vm, 58, bytes.Length - l4))).Should().Be(0xFFFF, "ICMPv6 checksum");
        }
        var quotedUdp = bytes.AsSpan(qL4).ToArray();
        FrameBuilder.ReferenceSum(quotedUdp, FrameBuilder.ReferenceSum(FrameBuilder.PseudoHeader(vm, server, 17, quotedUdp.Length)))
            .Should().Be(0xFFFF, "quoted UDP checksum");
        r.Packet.InnerSrcIp.Should().Be(vm);
        r.Packet.InnerSrcPort.Should().Be(1234);
        r.Packet.DstIp.Should().Be(vm);
    }

    [Fact]
    public void Apply_NatAddressOfOtherFamily_DropsWithActionMismatch()
    {
        var frame = FrameBuilder.TcpFrame("10.1.0.1", 40000, "198.51.100.7", 443);
        var r = Exec.Run(NatProgram, NatRewrite.Source(NetAddress.Parse("2001:db8::5")), frame);

        r.Outcome.Should().Be(ActionOutcome.Drop(DropReason.ActionMismatch));
        r.Bytes.Should().Equal(frame);
    }

    [Fact]
    public void Apply_FrameShorterThanParsedTcpHeader_DropsWithoutThrowing()
    {
        var frame = FrameBuilder.TcpFrame("10.1.0.1", 40000, "198.51.100.7", 443);
        var buffer = PacketBuffer.CopyOf(frame.AsSpan(0, 40));
        var packet = TestParse.Frame(frame);
        var nat = NatRewrite.Source(NetAddress.Parse("203.0.113.5"), 1);

        var outcome = ActionExecutor.Apply(NatProgram, in nat, ref buffer, ref packet, 0, null, 0);

        outcome.Should().Be(ActionOutcome.Drop(DropReason.BadTcpHeader));
    }

    [Fact]
    public void Apply_GarbageOffsets_DropsWithoutThrowing()
    {
        var frame = FrameBuilder.TcpFrame("10.1.0.1", 40000, "198.51.100.7", 443);
        var buffer = PacketBuffer.CopyOf(frame);
        var packet = TestParse.Frame(frame);
        packet.L3Offset = -5;
        var nat = NatRewrite.Source(NetAddress.Parse("203.0.113.5"), 1);

        var outcome = ActionExecutor.Apply(NatProgram, in nat, ref buffer, ref packet, 0, null, 0);

        outcome.Should().Be(ActionOutcome.Drop(DropReason.BadIpv4Header));
    }

    [Fact]
    public void Apply_NoNatRewrite_LeavesFrameUnchanged()
    {
        var frame = FrameBuilder.TcpFrame("10.1.0.1", 40000, "198.51.100.7", 443);
        var r = Exec.Run(NatProgram, NatRewrite.None, frame);

        r.Outcome.Verdict.Should().Be(ActionVerdict.Output);
        r.Bytes.Should().Equal(frame);
    }

    [Fact]
    public void Apply_RandomRewrites_FrameEqualsOneBuiltWithTheNewTupleFromScratch()
    {
        var genV4 = Gen.UInt.Select(NetAddress.FromV4);
        var genV6 = Gen.Select(Gen.ULong, Gen.ULong, (h, l) => new NetAddress(h | 0x2000_0000_0000_0000UL, l));
        var gen = Gen.Bool.SelectMany(v4 =>
            Gen.Select(v4 ? genV4 : genV6, v4 ? genV4 : genV6, v4 ? genV4 : genV6, Gen.UShort, Gen.UShort, Gen.UShort,
                Gen.Byte.Array[0, 64], Gen.Int[0, 5]));
        gen.Sample((src, dst, newAddress, sport, dport, newPort, payload, variant) =>
        {
            bool tcp = variant < 2;
            bool source = variant % 2 == 0;
            bool udpChecksum = variant != 5 || !src.IsV4; // variant 5 over IPv4: UDP without checksum
            byte protocol = tcp ? IpProtocol.Tcp : IpProtocol.Udp;
            byte[] Build(NetAddress s, NetAddress d, ushort sp, ushort dp) =>
                FrameBuilder.IpFrame(s, d, protocol, tcp ? FrameBuilder.Tcp(s, d, sp, dp, payload) : FrameBuilder.Udp(s, d, sp, dp, payload, udpChecksum));
            var nat = new NatRewrite(source ? NatKind.Source : NatKind.Destination, newAddress, newPort);

            var r = Exec.Run(NatProgram, nat, Build(src, dst, sport, dport));

            ushort p = newPort == 0 ? (source ? sport : dport) : newPort;
            var expected = source ? Build(newAddress, dst, p, dport) : Build(src, newAddress, sport, p);
            r.Outcome.Verdict.Should().Be(ActionVerdict.Output);
            r.Bytes.Should().Equal(expected);
        }, iter: 3_000);
    }
}
