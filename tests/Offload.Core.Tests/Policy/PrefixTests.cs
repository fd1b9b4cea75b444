using CsCheck;
using Offload.Packets;
using Offload.Policy;

namespace Offload.Tests.Policy;

public class PrefixTests
{
    [Theory]
    [InlineData("10.1.0.0/16", "10.1.0.0", 16, true)]
    [InlineData("0.0.0.0/0", "0.0.0.0", 0, true)]
    [InlineData("10.1.2.3", "10.1.2.3", 32, true)]
    [InlineData("2001:db8::/32", "2001:db8::", 32, false)]
    [InlineData("::/0", "::", 0, false)]
    public void Parse_Valid_GivesAddressAndLength(string text, string address, int length, bool v4)
    {
        var p = Prefix.Parse(text);

        p.Address.Should().Be(NetAddress.Parse(address));
        p.Length.Should().Be(length);
        p.IsV4.Should().Be(v4);
        p.IsNone.Should().BeFalse();
    }

    [Theory]
    [InlineData("10.1.0.1/16", "host bits set (did you mean 10.1.0.0/16?)")]
    [InlineData("2001:db8::1/32", "host bits set")]
    [InlineData("10.1.0.0/33", "bad prefix length")]
    [InlineData("10.1.0.0/-1", "bad prefix length")]
    [InlineData("10.1.0.0/", "bad prefix length")]
    [InlineData("10.1/16", "is not a prefix")]
    [InlineData("blue", "is not a prefix")]
    [InlineData("", "empty")]
    public void TryParse_Invalid_SaysWhy(string text, string reason)
    {
        Prefix.TryParse(text, out _, out string? error).Should().BeFalse();
        error.Should().Contain(reason);
    }

    [Fact]
    public void Contains_OtherFamily_IsFalse()
    {
        Prefix.Parse("::/0").Contains(NetAddress.Parse("10.0.0.1")).Should().BeFalse("IPv4 is held IPv4-mapped but is not IPv6");
        Prefix.Parse("0.0.0.0/0").Contains(NetAddress.Parse("2001:db8::1")).Should().BeFalse();
    }

    [Fact]
    public void None_ContainsAndOverlapsNothing()
    {
        Prefix.None.IsNone.Should().BeTrue();
        Prefix.None.Contains(NetAddress.None).Should().BeFalse();
        Prefix.None.Overlaps(Prefix.Parse("0.0.0.0/0")).Should().BeFalse();
        Prefix.Parse("::/0").Should().NotBe(Prefix.None);
    }

    [Fact]
    public void Constructor_HostBitsSet_Throws()
    {
        var act = () => new Prefix(NetAddress.Parse("10.0.0.1"), 8);

        act.Should().Throw<ArgumentException>().WithMessage("*host bits*");
    }

    [Fact]
    public void ToString_RoundTrips() =>
        Gen.Select(Gen.UInt, Gen.Int[0, 32]).Sample((a, len) =>
        {
            var p = new Prefix(NetAddress.FromV4(len == 0 ? 0 : a & (uint.MaxValue << (32 - len))), len);
            Prefix.Parse(p.ToString()).Should().Be(p);
        });

    [Fact]
    public void Contains_V4_AgreesWithRangeModel() =>
        Gen.Select(Gen.UInt, Gen.Int[0, 32], Gen.UInt).Sample((a, len, probe) =>
        {
            uint network = len == 0 ? 0 : a & (uint.MaxValue << (32 - len));
            var p = new Prefix(NetAddress.FromV4(network), len);
            ulong last = network + ((1UL << (32 - len)) - 1);
            // Probe a random address, the range's ends and their neighbours.
            foreach (ulong x in new[] { probe, network, last, network - 1UL, last + 1 })
            {
                if (x > uint.MaxValue)
                    continue;
                bool expected = x >= network && x <= last;
                p.Contains(NetAddress.FromV4((uint)x)).Should().Be(expected, $"{p} vs {NetAddress.FromV4((uint)x)}");
            }
        });

    [Fact]
    public void Contains_V6_AgreesWithBitModel() =>
        Gen.Select(Gen.ULong, Gen.ULong, Gen.Int[0, 128], Gen.ULong).Sample((hi, lo, len, flip) =>
        {
            var bytes = new byte[16];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(bytes, hi | 0x2000_0000_0000_0000UL);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(8), lo);
            for (int bit = len; bit < 128; bit++)
                bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
            var p = new Prefix(NetAddress.FromV6Bytes(bytes), len);
            // Flip one bit: inside exactly when the bit is a host bit.
            int which = (int)(flip % 128);
            var probe = (byte[])bytes.Clone();
            probe[which / 8] ^= (byte)(0x80 >> (which % 8));
            var address = NetAddress.FromV6Bytes(probe);
            if (address.IsV4)
                return;
            p.Contains(NetAddress.FromV6Bytes(bytes)).Should().BeTrue();
            p.Contains(address).Should().Be(which >= len);
        });

    [Fact]
    public void Overlaps_SmallPrefixes_IsSymmetricAndAgreesWithBruteForce()
    {
        // Prefixes inside 10.0.0.0/24: enumerate all 256 addresses to decide overlap.
        var gen = Gen.Select(Gen.Int[0, 255], Gen.Int[24, 32], (a, len) =>
            new Prefix(NetAddress.FromV4(0x0A00_0000u | (uint)(a & (0xFF << (32 - len)) & 0xFF)), len));
        Gen.Select(gen, gen).Sample((p, q) =>
        {
            bool brute = false;
            for (uint x = 0; x < 256 && !brute; x++)
            {
                var address = NetAddress.FromV4(0x0A00_0000u | x);
                brute = p.Contains(address) && q.Contains(address);
            }
            p.Overlaps(q).Should().Be(brute, $"{p} vs {q}");
            q.Overlaps(p).Should().Be(p.Overlaps(q));
        });
    }

    [Fact]
    public void Overlaps_DifferentFamilies_IsFalse() =>
        Prefix.Parse("0.0.0.0/0").Overlaps(Prefix.Parse("::/0")).Should().BeFalse();

    [Fact]
    public void Covers_SubPrefix_IsTrueOnlyOneWay()
    {
        var big = Prefix.Parse("10.0.0.0/8");
        var small = Prefix.Parse("10.1.0.0/16");

        big.Covers(small).Should().BeTrue();
        small.Covers(big).Should().BeFalse();
    }
}
