using CsCheck;
using Offload.Packets;

namespace Offload.Tests.Packets;

/// <summary>
/// The parser must survive anything: every frame is parsed from an array exactly as long as the frame, so a
/// read past the end throws and fails the property; and every result must be internally consistent.
/// </summary>
public class PacketParserPropertyTests
{
    private const long RandomBytesIterations = 400_000;
    private const long MutatedFrameIterations = 600_000;
    private const long ValidFrameIterations = 100_000;

    private static readonly ushort[] InterestingEtherTypes =
        [EtherType.IPv4, EtherType.IPv6, EtherType.Arp, EtherType.Vlan, EtherType.QinQ, EtherType.QinQLegacy];

    private static readonly Gen<byte[]> GenRandomFrame =
        Gen.Select(Gen.Byte.Array[0, 200], Gen.Int[0, 7], (bytes, pick) =>
        {
            // Mostly steer the EtherType to one the parser follows, so random bytes reach the deeper layers.
            if (pick < InterestingEtherTypes.Length && bytes.Length >= 14)
            {
                bytes[12] = (byte)(InterestingEtherTypes[pick] >> 8);
                bytes[13] = (byte)InterestingEtherTypes[pick];
                if (bytes.Length > 14 && pick < 2)
                    bytes[14] = (byte)((pick == 0 ? 0x40 : 0x60) | (bytes[14] & 0x0F));
            }
            return bytes;
        });

    [Fact]
    public void Parse_RandomBytes_NeverThrowsOrOverreadsAndStaysConsistent()
    {
        GenRandomFrame.Sample(frame => AssertConsistent(frame), iter: RandomBytesIterations);
    }

    [Fact]
    public void Parse_MutatedValidFrames_NeverThrowsOrOverreadsAndStaysConsistent()
    {
        Gen.Int.Sample(seed =>
        {
            var rng = new Random(seed);
            var frame = RandomFrames.Mutate(rng, RandomFrames.Build(rng).Frame);
            AssertConsistent(frame);
        }, iter: MutatedFrameIterations);
    }

    [Fact]
    public void Parse_ValidFrames_ParseToTheirGeneratedTuple()
    {
        Gen.Int.Sample(seed =>
        {
            var (frame, expected) = RandomFrames.Build(new Random(seed));
            var p = AssertConsistent(frame);
            p.Error.Should().Be(DropReason.None, $"seed {seed}: {Convert.ToHexString(frame)}");
            if (p.L3 == L3Kind.Arp)
                return;
            (p.SrcIp, p.DstIp, p.Protocol).Should().Be((expected.Src, expected.Dst, expected.Protocol));
            (p.HasPorts, p.SrcPort, p.DstPort).Should().Be((expected.HasPorts, expected.SrcPort, expected.DstPort));
            (p.Tunnel, p.Vni).Should().Be((expected.Tunnel, expected.Vni));
            if (p.Tunnel == TunnelKind.None)
                return;
            var inner = frame.AsSpan(p.InnerOffset, p.L3End - p.InnerOffset).ToArray();
            ParsedPacket q;
            if (p.InnerEtherType == EtherType.TransparentEthernetBridging)
                PacketParser.Parse(inner, out q);
            else
                PacketParser.ParseL3(inner, p.InnerEtherType, out q);
            q.Error.Should().Be(DropReason.None, $"inner of seed {seed}");
        }, iter: ValidFrameIterations);
    }

    private static ParsedPacket AssertConsistent(byte[] frame)
    {
        // The array is exactly the frame: any read beyond it throws IndexOutOfRangeException out of Parse.
        PacketParser.Parse(new ReadOnlySpan<byte>(frame, 0, frame.Length), out var p);
        p.FrameLength.Should().Be(frame.Length);
        if (p.Error != DropReason.None || !p.IsIp)
            return p;
        int n = frame.Length;
        if (p.L3Offset > p.L4Offset || p.L4Offset > p.L3End || p.L3End > n ||
            p.PayloadOffset < p.L4Offset || p.PayloadLength < 0 || p.PayloadOffset + p.PayloadLength > p.L3End ||
            (p.Tunnel != TunnelKind.None && (p.InnerOffset < p.PayloadOffset || p.InnerOffset > p.L3End)) ||
            (p.HasPorts && p.FragmentOffset != 0) ||
            (p.FragmentOffset != 0 && !p.IsFragment))
        {
            throw new InvalidOperationException($"inconsistent parse of {Convert.ToHexString(frame)}: L3 {p.L3Offset}..{p.L3End}, " +
                $"L4 {p.L4Offset}, payload {p.PayloadOffset}+{p.PayloadLength}, inner {p.InnerOffset}, ports {p.HasPorts}, frag {p.FragmentOffset}");
        }
        return p;
    }
}
