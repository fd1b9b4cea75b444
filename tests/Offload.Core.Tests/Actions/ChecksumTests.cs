using System.Buffers.Binary;
using CsCheck;
using Offload.Actions;
using Offload.Packets;
using Offload.Tests.TestSupport;

namespace Offload.Tests.Actions;

public class ChecksumTests
{
    [Fact]
    public void Sum_Rfc1071Example_MatchesPublishedSum()
    {
        // RFC 1071 §3 worked example: the words 0001 f203 f4f5 f6f7 sum to ddf2.
        byte[] data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        Checksum.Sum(data).Should().Be(0xddf2u);
        Checksum.Compute(data).Should().Be(0x220d);
    }

    [Fact]
    public void Compute_KnownIpv4Header_GivesItsChecksum()
    {
        // 192.168.0.1 -> 192.168.0.199 UDP, the classic textbook header whose checksum is b861.
        byte[] header = Convert.FromHexString("450000730000400040110000c0a80001c0a800c7");
        Checksum.Compute(header).Should().Be(0xb861);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(10), 0xb861);
        Checksum.Verify(header).Should().BeTrue();
    }

    [Fact]
    public void Sum_RandomData_MatchesNaiveWordLoop()
    {
        Gen.Byte.Array[0, 300].Select(Gen.UInt[0, 0xFFFF]).Sample((data, initial) =>
        {
            Checksum.Sum(data, initial).Should().Be(FrameBuilder.ReferenceSum(data, initial));
        }, iter: 5_000);
    }

    [Fact]
    public void PseudoHeaderSum_MatchesSumOfExplicitPseudoHeader()
    {
        Gen.Select(Gen.Bool, Gen.ULong, Gen.ULong, Gen.UInt, Gen.UInt, Gen.Int[0, 65535]).Sample((v4, hi, lo, a, b, len) =>
        {
            var src = v4 ? NetAddress.FromV4(a) : new NetAddress(hi, lo);
            var dst = v4 ? NetAddress.FromV4(b) : new NetAddress(lo, hi ^ a);
            Checksum.PseudoHeaderSum(src, dst, 6, len).Should().Be(FrameBuilder.ReferenceSum(FrameBuilder.PseudoHeader(src, dst, 6, len)));
        }, iter: 5_000);
    }

    [Fact]
    public void Update16_RandomWordChange_EqualsFullRecompute()
    {
        Gen.Byte.Array[2, 60].Select(Gen.Int[0, 29], Gen.UShort).Sample((data, wordIndex, newWord) =>
        {
            data[0] |= 1; // real headers are never all zero; the 0/0xFFFF ambiguity only arises for all-zero data
            int at = (wordIndex * 2) % (data.Length & ~1);
            ushort before = Checksum.Compute(data);
            ushort old = BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(at));
            BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(at), newWord);
            if (at == 0)
                data[0] |= 1;
            ushort actualNew = BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(at));
            Checksum.Update16(before, old, actualNew).Should().Be(Checksum.Compute(data));
        }, iter: 10_000);
    }

    [Fact]
    public void UpdateAddress_RandomIpv4AndIpv6Change_EqualsFullRecompute()
    {
        Gen.Select(Gen.Bool, Gen.Byte.Array[40, 80], Gen.ULong, Gen.ULong, Gen.UInt).Sample((v4, data, hi, lo, a) =>
        {
            data[^1] |= 1;
            int size = v4 ? 4 : 16;
            var oldAddress = v4 ? NetAddress.FromV4Bytes(data.AsSpan(4)) : NetAddress.FromV6Bytes(data.AsSpan(4));
            var newAddress = v4 ? NetAddress.FromV4(a) : new NetAddress(hi, lo);
            ushort before = Checksum.Compute(data);
            newAddress.WriteTo(data.AsSpan(4, size));
            Checksum.UpdateAddress(before, oldAddress, newAddress).Should().Be(Checksum.Compute(data));
            if (v4)
                Checksum.Update32(before, oldAddress.V4, newAddress.V4).Should().Be(Checksum.Compute(data));
        }, iter: 10_000);
    }

    [Theory]
    [InlineData(0, 0x1234, true, 0)]        // IPv4 "no checksum" stays none
    [InlineData(0x5555, 0, true, 0xFFFF)]   // a computed 0 is sent as 0xFFFF
    [InlineData(0x5555, 0, false, 0xFFFF)]
    [InlineData(0, 0x1234, false, 0x1234)]  // over IPv6 there is no "none"
    [InlineData(0x5555, 0x1234, true, 0x1234)]
    public void UdpResult_AppliesRfc768Rules(int original, int updated, bool ipv4, int expected)
    {
        Checksum.UdpResult((ushort)original, (ushort)updated, ipv4).Should().Be((ushort)expected);
    }
}
