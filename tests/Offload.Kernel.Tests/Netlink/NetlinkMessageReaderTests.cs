using Offload.Kernel.Netlink;

namespace Offload.Kernel.Tests.Netlink;

public sealed class NetlinkMessageReaderTests
{
    // Two messages in one datagram: type 0x0100 flags MULTI seq 7 pid 0 payload {1,2,3} (padded), then NLMSG_DONE.
    private static readonly byte[] TwoMessages =
    [
        19, 0, 0, 0, 0x00, 0x01, 2, 0, 7, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 0,
        20, 0, 0, 0, 3, 0, 2, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];

    [Fact]
    public void TryRead_TwoMessages_YieldsHeadersAndPayloads()
    {
        var reader = new NetlinkMessageReader(TwoMessages);

        reader.TryRead(out NetlinkMessage m).Should().BeTrue();
        m.Type.Should().Be(0x0100);
        m.Flags.Should().Be(NetlinkConstants.FlagMulti);
        m.Sequence.Should().Be(7);
        m.PortId.Should().Be(0);
        m.Payload.ToArray().Should().Equal(1, 2, 3);

        reader.TryRead(out m).Should().BeTrue();
        m.Type.Should().Be(NetlinkConstants.MsgDone);
        m.Payload.Length.Should().Be(4);

        reader.TryRead(out _).Should().BeFalse();
        reader.Error.Should().Be(NetlinkParseError.None);
    }

    [Theory]
    [InlineData(15, NetlinkParseError.TruncatedHeader)]
    [InlineData(18, NetlinkParseError.LengthBeyondBuffer)]
    public void TryRead_TruncatedDatagram_StopsWithReason(int keep, NetlinkParseError expected)
    {
        var reader = new NetlinkMessageReader(TwoMessages.AsSpan(0, keep));

        reader.TryRead(out _).Should().BeFalse();
        reader.Error.Should().Be(expected);
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(15u)]
    public void TryRead_LengthSmallerThanHeader_Rejected(uint length)
    {
        byte[] bytes = (byte[])TwoMessages.Clone();
        BitConverter.TryWriteBytes(bytes.AsSpan(0, 4), length);
        var reader = new NetlinkMessageReader(bytes);

        reader.TryRead(out _).Should().BeFalse();
        reader.Error.Should().Be(NetlinkParseError.LengthTooSmall);
    }

    [Fact]
    public void TryRead_HugeLength_RejectedWithoutOverflow()
    {
        byte[] bytes = (byte[])TwoMessages.Clone();
        BitConverter.TryWriteBytes(bytes.AsSpan(0, 4), uint.MaxValue);
        var reader = new NetlinkMessageReader(bytes);

        reader.TryRead(out _).Should().BeFalse();
        reader.Error.Should().Be(NetlinkParseError.LengthBeyondBuffer);
    }

    [Theory]
    [InlineData(new byte[] { 0, 0, 0, 0 }, 0)]
    [InlineData(new byte[] { 0xFE, 0xFF, 0xFF, 0xFF, 0x55 }, 2)]
    [InlineData(new byte[] { 0x97, 0xFF, 0xFF, 0xFF }, 105)]
    public void TryReadError_ErrorPayload_ReturnsPositiveErrno(byte[] payload, int errno)
    {
        NetlinkMessageReader.TryReadError(payload, out int actual).Should().BeTrue();
        actual.Should().Be(errno);
    }

    [Fact]
    public void TryReadError_ShortPayload_ReturnsFalse() =>
        NetlinkMessageReader.TryReadError(new byte[] { 1, 2, 3 }, out _).Should().BeFalse();
}
