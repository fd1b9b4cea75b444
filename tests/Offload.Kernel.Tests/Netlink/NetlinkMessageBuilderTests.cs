using Offload.Kernel.Netlink;

namespace Offload.Kernel.Tests.Netlink;

public sealed class NetlinkMessageBuilderTests
{
    [Fact]
    public void Build_NestedAttributes_ProducesExactBytes()
    {
        var b = new NetlinkMessageBuilder(64);
        b.BeginMessage(0x0102, NetlinkConstants.FlagRequest | NetlinkConstants.FlagAck, 0x01020304);
        b.AddNetfilterHeader(2, 0x0506);
        b.BeginNested(1);
        b.AddByte(1, 6);
        b.AddUInt16BigEndian(2, 0xABCD);
        b.EndNested();
        b.AddUInt32BigEndian(7, 100);
        b.EndMessage();

        b.Written.ToArray().Should().Equal(
            48, 0, 0, 0, 0x02, 0x01, 5, 0, 4, 3, 2, 1, 0, 0, 0, 0, // nlmsghdr
            2, 0, 0x05, 0x06,                                       // nfgenmsg: AF_INET, v0, res_id big-endian
            20, 0, 1, 0x80,                                         // nested type 1 | NLA_F_NESTED, 4 + 8 + 8
            5, 0, 1, 0, 6, 0, 0, 0,                                 // u8, 3 bytes of padding
            6, 0, 2, 0, 0xAB, 0xCD, 0, 0,                           // be16, 2 bytes of padding
            8, 0, 7, 0, 0, 0, 0, 100);                              // be32
    }

    [Fact]
    public void Reset_AfterLargerMessage_PaddingIsZeroNotStale()
    {
        var b = new NetlinkMessageBuilder(64);
        b.BeginMessage(1, 0, 1);
        b.AddUInt64BigEndian(1, ulong.MaxValue);
        b.AddUInt64BigEndian(1, ulong.MaxValue);
        b.EndMessage();
        b.Reset();

        b.BeginMessage(1, 0, 2);
        b.AddByte(1, 1);
        b.EndMessage();

        b.Written.ToArray()[^3..].Should().Equal(0, 0, 0);
        b.Written.Length.Should().Be(24);
    }

    [Fact]
    public void Build_BeyondInitialCapacity_Grows()
    {
        var b = new NetlinkMessageBuilder(64);
        b.BeginMessage(1, 0, 1);
        b.AddAttribute(1, new byte[1000]);
        b.EndMessage();

        b.Written.Length.Should().Be(16 + 1004);
        var reader = new NetlinkMessageReader(b.Written);
        reader.TryRead(out NetlinkMessage m).Should().BeTrue();
        m.Payload.Length.Should().Be(1004);
    }

    [Fact]
    public void EndMessage_WithOpenNest_Throws()
    {
        var b = new NetlinkMessageBuilder();
        b.BeginMessage(1, 0, 1);
        b.BeginNested(1);

        Action act = b.EndMessage;

        act.Should().Throw<InvalidOperationException>().WithMessage("*nested*");
    }

    [Fact]
    public void AddAttribute_WithoutMessage_Throws()
    {
        var b = new NetlinkMessageBuilder();

        Action act = () => b.AddByte(1, 1);

        act.Should().Throw<InvalidOperationException>();
    }
}
