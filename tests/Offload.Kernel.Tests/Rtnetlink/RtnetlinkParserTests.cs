using Offload.Kernel.Netlink;
using Offload.Kernel.Rtnetlink;
using Offload.Packets;

namespace Offload.Kernel.Tests.Rtnetlink;

public sealed class RtnetlinkParserTests
{
    // An RTM_NEWLINK payload as the kernel sends it for an enslaved veth with an alias.
    private static byte[] LinkPayload()
    {
        var b = new NetlinkMessageBuilder();
        b.BeginMessage(16, 0, 1);
        b.AddInfoHeader(7, flags: 0x1003);
        b.AddString(3, "vm7");
        b.AddMac(1, MacAddress.Parse("02:11:22:33:44:55"));
        b.AddUInt32(4, 9000);
        b.AddUInt32(10, 3);
        b.AddString(20, "offload:agent");
        b.AddByte(16, 6);
        b.BeginNested(18);
        b.AddString(1, "veth");
        b.EndNested();
        b.EndMessage();
        return b.Written[NetlinkConstants.MessageHeaderSize..].ToArray();
    }

    [Fact]
    public void TryParseLink_KernelShapedMessage_AllFields()
    {
        RtnetlinkParser.TryParseLink(LinkPayload(), out LinkInfo? link).Should().BeTrue();

        link.Should().Be(new LinkInfo(7, "vm7", MacAddress.Parse("02:11:22:33:44:55"), 9000, 0x1003, 3, "veth", "offload:agent") { OperState = LinkOperState.Up });
        link!.IsUp.Should().BeTrue();
        link.OperState.Should().Be(LinkOperState.Up);
    }

    [Fact]
    public void TryParseLink_EveryTruncation_FalseOrPrefixNeverThrows()
    {
        byte[] payload = LinkPayload();
        for (int length = 0; length < payload.Length; length++)
        {
            // Cut inside an attribute the list is malformed; cut between attributes the prefix may parse without later fields.
            bool ok = RtnetlinkParser.TryParseLink(payload.AsSpan(0, length), out LinkInfo? link);
            if (ok)
                link!.Index.Should().Be(7);
        }
        RtnetlinkParser.TryParseLink(payload.AsSpan(0, 15), out _).Should().BeFalse();
    }

    [Fact]
    public void TryParseLink_NoName_False()
    {
        var b = new NetlinkMessageBuilder();
        b.BeginMessage(16, 0, 1);
        b.AddInfoHeader(2);
        b.AddUInt32(4, 1500);
        b.EndMessage();
        RtnetlinkParser.TryParseLink(b.Written[NetlinkConstants.MessageHeaderSize..], out _).Should().BeFalse();
    }

    [Fact]
    public void AddFamilyHeader_OddLength_PaddedToFourBytes()
    {
        var b = new NetlinkMessageBuilder();
        b.BeginMessage(16, 0, 1);
        b.AddFamilyHeader([1, 2, 3, 4, 5]);
        b.EndMessage();
        b.Written.Length.Should().Be(NetlinkConstants.MessageHeaderSize + 8);
        b.Written[NetlinkConstants.MessageHeaderSize..].ToArray().Should().Equal(1, 2, 3, 4, 5, 0, 0, 0);
    }
}
