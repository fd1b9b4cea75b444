using Offload.Kernel.Conntrack;
using Offload.Kernel.Netlink;

namespace Offload.Kernel.Tests.Conntrack;

public sealed class CtnetlinkEventKindTests
{
    [Theory]
    [InlineData(0x0100, NetlinkConstants.FlagCreate | NetlinkConstants.FlagExclusive, ConntrackEventKind.New)]
    [InlineData(0x0100, 0, ConntrackEventKind.Update)]
    [InlineData(0x0102, 0, ConntrackEventKind.Destroy)]
    public void TryKind_CtnetlinkMessage_MapsToEventKind(int type, int flags, ConntrackEventKind expected)
    {
        var message = new NetlinkMessage((ushort)type, (ushort)flags, 0, 0, default);

        CtnetlinkEventListener.TryKind(message, out ConntrackEventKind kind).Should().BeTrue();
        kind.Should().Be(expected);
    }

    [Theory]
    [InlineData(0x0101)] // IPCTNL_MSG_CT_GET
    [InlineData(0x0200)] // another subsystem
    [InlineData(NetlinkConstants.MsgDone)]
    public void TryKind_OtherMessage_NotAnEvent(int type) =>
        CtnetlinkEventListener.TryKind(new NetlinkMessage((ushort)type, 0, 0, 0, default), out _).Should().BeFalse();
}
