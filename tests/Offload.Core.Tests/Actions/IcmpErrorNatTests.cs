using System.Buffers.Binary;
using Offload.Actions;
using Offload.Packets;
using Offload.Tests.TestSupport;

namespace Offload.Tests.Actions;

/// <summary>ICMP errors about translated connections: the quoted packet is translated mirror-wise.</summary>
public class IcmpErrorNatTests
{
    private static readonly ActionProgram NatProgram = Exec.Output(b => b.ApplyNat());

    [Fact]
    public void Apply_SnatOfErrorQuotingEightBytesOfTcp_RewritesQuotedDestinationPortWithoutTouchingMissingChecksum()
    {
        // A load-balanced backend 10.1.0.3:8080 reports an error about a packet from client C to it; the
        // reply direction SNATs the backend back to the VIP 10.1.255.10:80, so the quoted destination changes.
        var backend = NetAddress.Parse("10.1.0.3");
        var vip = NetAddress.Parse("10.1.255.10");
        var client = NetAddress.Parse("198.51.100.7");
        var tcp = FrameBuilder.Tcp(client, backend, 5555, 8080, default);
        var quoted = FrameBuilder.Ip(client, backend, 6, tcp.AsSpan(0, 8)); // ICMPv4 quotes IP header + 8 bytes
        var frame = FrameBuilder.IpFrame(backend, client, 1, FrameBuilder.Icmp(backend, client, 3, 10, 0, quoted));

        var r = Exec.Run(NatProgram, NatRewrite.Source(vip, 80), frame);

        r.Outcome.Verdict.Should().Be(ActionVerdict.Output);
        var b = r.Bytes;
        NetAddress.FromV4Bytes(b.AsSpan(14 + 12)).Should().Be(vip, "outer source");
        NetAddress.FromV4Bytes(b.AsSpan(42 + 16)).Should().Be(vip, "quoted destination");
        BinaryPrimitives.ReadUInt16BigEndian(b.AsSpan(62 + 2)).Should().Be(80, "quoted destination port");
        BinaryPrimitives.ReadUInt16BigEndian(b.AsSpan(62)).Should().Be(5555);
        FrameBuilder.ReferenceSum(b.AsSpan(14, 20)).Should().Be(0xFFFF);
        FrameBuilder.ReferenceSum(b.AsSpan(42, 20)).Should().Be(0xFFFF);
        FrameBuilder.ReferenceSum(b.AsSpan(34)).Should().Be(0xFFFF, "ICMP checksum over the whole message");
        r.Packet.InnerDstIp.Should().Be(vip);
        r.Packet.InnerDstPort.Should().Be(80);
        r.Packet.SrcIp.Should().Be(vip);
    }

    [Fact]
    public void Apply_DnatOfTimeExceededQuotingEcho_RewritesQuotedIdentifierAndItsChecksum()
    {
        // VM 10.1.0.1 pinged out with id 0x1111, SNATed to 203.0.113.5 id 0x2222; a router's time exceeded comes back.
        var vm = NetAddress.Parse("10.1.0.1");
        var pub = NetAddress.Parse("203.0.113.5");
        var target = NetAddress.Parse("198.51.100.7");
        var router = NetAddress.Parse("198.51.100.1");
        var quoted = FrameBuilder.Ip(pub, target, 1, FrameBuilder.IcmpEcho(pub, target, 0x2222, 1), ttl: 1);
        var frame = FrameBuilder.IpFrame(router, pub, 1, FrameBuilder.Icmp(router, pub, 11, 0, 0, quoted));

        var r = Exec.Run(NatProgram, NatRewrite.Destination(vm, 0x1111), frame);

        var b = r.Bytes;
        int q = 42, qL4 = 62;
        NetAddress.FromV4Bytes(b.AsSpan(14 + 16)).Should().Be(vm);
        NetAddress.FromV4Bytes(b.AsSpan(q + 12)).Should().Be(vm);
        BinaryPrimitives.ReadUInt16BigEndian(b.AsSpan(qL4 + 4)).Should().Be(0x1111);
        FrameBuilder.ReferenceSum(b.AsSpan(q, 20)).Should().Be(0xFFFF);
        FrameBuilder.ReferenceSum(b.AsSpan(qL4)).Should().Be(0xFFFF, "quoted echo checksum");
        FrameBuilder.ReferenceSum(b.AsSpan(34)).Should().Be(0xFFFF, "outer ICMP checksum");
        r.Packet.InnerSrcPort.Should().Be(0x1111);
    }

    [Fact]
    public void Apply_ErrorWithQuotedHeaderCutShort_DropsBadIcmpHeader()
    {
        var a = NetAddress.Parse("198.51.100.1");
        var c = NetAddress.Parse("203.0.113.5");
        var frame = FrameBuilder.IpFrame(a, c, 1, FrameBuilder.Icmp(a, c, 3, 3, 0, new byte[12]));
        var buffer = PacketBuffer.CopyOf(frame);
        var packet = TestParse.Frame(frame.AsSpan(0, 42)); // parse only up to the ICMP header
        packet.IsIcmpError = true;
        var nat = NatRewrite.Destination(NetAddress.Parse("10.1.0.1"), 1);

        var outcome = ActionExecutor.Apply(NatProgram, in nat, ref buffer, ref packet, 0, null, 0);

        outcome.Should().Be(ActionOutcome.Drop(DropReason.BadIcmpHeader));
    }
}
