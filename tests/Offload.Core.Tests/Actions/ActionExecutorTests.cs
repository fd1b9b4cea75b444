using Offload.Actions;
using Offload.Packets;
using Offload.Tests.TestSupport;
using PacketDotNet;

namespace Offload.Tests.Actions;

public class ActionExecutorTests
{
    [Fact]
    public void Apply_NatOnVlanTaggedFrame_UsesParsedOffsets()
    {
        var plain = FrameBuilder.TcpFrame("10.1.0.1", 40000, "198.51.100.7", 443);
        var tagged = new byte[plain.Length + 4];
        plain.AsSpan(0, 12).CopyTo(tagged);
        tagged[12] = 0x81;
        tagged[14] = 0x00;
        tagged[15] = 42;
        plain.AsSpan(12).CopyTo(tagged.AsSpan(16));

        var r = Exec.Run(Exec.Output(b => b.ApplyNat()), NatRewrite.Source(NetAddress.Parse("203.0.113.5"), 1024), tagged);

        r.Packet.L3Offset.Should().Be(18);
        var untagged = new byte[plain.Length];
        r.Bytes.AsSpan(0, 12).CopyTo(untagged);
        r.Bytes.AsSpan(16).CopyTo(untagged.AsSpan(12));
        var tcp = Packet.ParsePacket(LinkLayers.Ethernet, untagged).Extract<TcpPacket>();
        tcp.SourcePort.Should().Be(1024);
        tcp.ValidTcpChecksum.Should().BeTrue();
        Packet.ParsePacket(LinkLayers.Ethernet, untagged).Extract<IPv4Packet>().ValidIPChecksum.Should().BeTrue();
    }

    [Fact]
    public void Apply_FullProgram_AllocatesNothing()
    {
        var template = TunnelTests.Template(TunnelType.Vxlan, v6: true);
        var program = ActionProgram.CreateBuilder().ApplyNat().DecrementTtl().SetDestinationMac(MacAddress.Broadcast)
            .Meter(0).Encapsulate(template).Output(1).Build();
        var meters = new MeterTable(1, TimeProvider.System);
        meters.Configure(0, long.MaxValue / 1_000_000_000_000, 1_000_000);
        var frame = FrameBuilder.TcpFrame("fd00:1::1", 40000, "2001:db8::7", 443, payloadLength: 1000);
        var nat = NatRewrite.Source(NetAddress.Parse("2001:db8:ffff::5"), 61000);
        var parsed = TestParse.Frame(frame);
        var array = new byte[PacketBuffer.DefaultHeadroom + frame.Length];

        long Run()
        {
            frame.CopyTo(array, PacketBuffer.DefaultHeadroom);
            var buffer = new PacketBuffer(array, PacketBuffer.DefaultHeadroom, frame.Length);
            var packet = parsed;
            long before = GC.GetAllocatedBytesForCurrentThread();
            var outcome = ActionExecutor.Apply(program, in nat, ref buffer, ref packet, 0, meters, 0);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            outcome.Verdict.Should().Be(ActionVerdict.Output);
            return allocated;
        }

        Run(); // warm up (JIT, statics)
        Run().Should().Be(0);
    }

    [Fact]
    public void Apply_BufferWithBadBounds_DropsActionMismatch()
    {
        var program = Exec.Output(b => b.DecrementTtl());
        var buffer = new PacketBuffer(new byte[64], 0, 64) { Length = 100 };
        var packet = default(ParsedPacket);
        ActionExecutor.Apply(program, default, ref buffer, ref packet, 0, null, 0)
            .Should().Be(ActionOutcome.Drop(DropReason.ActionMismatch));

        var ok = new PacketBuffer(new byte[64], 0, 64);
        ActionExecutor.Apply(program, default, ref ok, ref packet, 65, null, 0)
            .Should().Be(ActionOutcome.Drop(DropReason.ActionMismatch), "tunnel header longer than the frame");
    }
}
