using Offload.Kernel.Netlink;

namespace Offload.Kernel.Tests.Netlink;

public sealed class NetlinkAttributeReaderTests
{
    // Three attributes: type 1 u8 0x2A (padded to 8), type 2 be16 0x1234 (padded to 8), type 0x8003 nested { type 1 be32 7 }.
    private static readonly byte[] Good =
    [
        5, 0, 1, 0, 0x2A, 0, 0, 0,
        6, 0, 2, 0, 0x12, 0x34, 0, 0,
        12, 0, 3, 0x80, 8, 0, 1, 0, 0, 0, 0, 7,
    ];

    [Fact]
    public void TryRead_WellFormedList_YieldsEachAttributeWithoutPadding()
    {
        var reader = new NetlinkAttributeReader(Good);

        reader.TryRead(out NetlinkAttribute a).Should().BeTrue();
        a.Type.Should().Be(1);
        a.Payload.Length.Should().Be(1);
        a.TryGetByte(out byte b).Should().BeTrue();
        b.Should().Be(0x2A);

        reader.TryRead(out a).Should().BeTrue();
        a.Type.Should().Be(2);
        a.TryGetUInt16BigEndian(out ushort u16).Should().BeTrue();
        u16.Should().Be(0x1234);

        reader.TryRead(out a).Should().BeTrue();
        a.Type.Should().Be(3);
        a.IsNestedFlag.Should().BeTrue();
        NetlinkAttributeReader nested = a.Nested();
        nested.TryRead(out NetlinkAttribute inner).Should().BeTrue();
        inner.TryGetUInt32BigEndian(out uint u32).Should().BeTrue();
        u32.Should().Be(7);
        nested.TryRead(out _).Should().BeFalse();
        nested.Error.Should().Be(NetlinkParseError.None);

        reader.TryRead(out _).Should().BeFalse();
        reader.Error.Should().Be(NetlinkParseError.None);
    }

    [Fact]
    public void TryRead_LastAttributeWithoutPadding_IsAccepted()
    {
        var reader = new NetlinkAttributeReader(new byte[] { 5, 0, 1, 0, 9 });

        reader.TryRead(out NetlinkAttribute a).Should().BeTrue();
        a.Payload.ToArray().Should().Equal(9);
        reader.TryRead(out _).Should().BeFalse();
        reader.Error.Should().Be(NetlinkParseError.None);
    }

    [Theory]
    [InlineData(new byte[] { 8, 0, 1 }, NetlinkParseError.TruncatedHeader)]
    [InlineData(new byte[] { 3, 0, 1, 0 }, NetlinkParseError.LengthTooSmall)]
    [InlineData(new byte[] { 0, 0, 1, 0, 0, 0, 0, 0 }, NetlinkParseError.LengthTooSmall)]
    [InlineData(new byte[] { 9, 0, 1, 0, 1, 2, 3, 4 }, NetlinkParseError.LengthBeyondBuffer)]
    [InlineData(new byte[] { 0xFF, 0xFF, 1, 0, 1, 2, 3, 4 }, NetlinkParseError.LengthBeyondBuffer)]
    public void TryRead_MalformedAttribute_StopsWithReason(byte[] bytes, NetlinkParseError expected)
    {
        var reader = new NetlinkAttributeReader(bytes);

        reader.TryRead(out _).Should().BeFalse();
        reader.Error.Should().Be(expected);
        reader.TryRead(out _).Should().BeFalse();
    }

    [Fact]
    public void TryRead_GoodThenTruncated_YieldsGoodThenReportsError()
    {
        byte[] bytes = [.. Good.AsSpan(0, 8), 8, 0, 2, 0, 1];
        var reader = new NetlinkAttributeReader(bytes);

        reader.TryRead(out NetlinkAttribute a).Should().BeTrue();
        a.Type.Should().Be(1);
        reader.TryRead(out _).Should().BeFalse();
        reader.Error.Should().Be(NetlinkParseError.LengthBeyondBuffer);
    }

    [Fact]
    public void Nested_InnerLengthOverrunsOuter_ReportsErrorInsideNest()
    {
        // Outer length 12 is fine; the inner attribute claims 16 bytes of the 8 the outer carries.
        byte[] bytes = [12, 0, 3, 0x80, 16, 0, 1, 0, 0, 0, 0, 7];
        var reader = new NetlinkAttributeReader(bytes);

        reader.TryRead(out NetlinkAttribute a).Should().BeTrue();
        NetlinkAttributeReader nested = a.Nested();
        nested.TryRead(out _).Should().BeFalse();
        nested.Error.Should().Be(NetlinkParseError.LengthBeyondBuffer);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(5)]
    public void TypedGetters_WrongPayloadSize_ReturnFalse(int size)
    {
        var a = new NetlinkAttribute(1, new byte[size]);

        a.TryGetUInt16BigEndian(out _).Should().Be(size == 2);
        a.TryGetUInt32BigEndian(out _).Should().BeFalse();
        a.TryGetUInt64BigEndian(out _).Should().BeFalse();
        a.TryGetByte(out _).Should().Be(size == 1);
    }
}
