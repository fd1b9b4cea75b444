using Offload.Kernel.Netlink;
using Offload.Kernel.Tests.Netns;

namespace Offload.Kernel.Tests.Netlink;

/// <summary>Socket behaviour against the real kernel, inside a private network namespace.</summary>
public sealed class NetlinkSocketTests
{
    private static byte[] Message(ushort type, ushort flags, uint seq)
    {
        var b = new NetlinkMessageBuilder();
        b.BeginMessage(type, flags, seq);
        b.EndMessage();
        return b.Written.ToArray();
    }

    [RootFact]
    public void ReceiveFromKernel_DatagramFromAnotherProcessSocket_IsRejected()
    {
        using NetworkNamespace ns = NetworkNamespace.Create();
        (NetlinkSocket victim, NetlinkSocket spoofer) = ns.Enter(() =>
            (NetlinkSocket.Open(NetlinkConstants.ProtocolNetfilter, TimeSpan.FromMilliseconds(300)),
             NetlinkSocket.Open(NetlinkConstants.ProtocolNetfilter, TimeSpan.FromMilliseconds(300))));
        using (victim)
        using (spoofer)
        {
            // A forged "end of dump" addressed straight to the victim's port id.
            spoofer.SendTo(Message(NetlinkConstants.MsgDone, NetlinkConstants.FlagMulti, 1), victim.LocalPortId);

            Action receive = () => victim.ReceiveFromKernel();

            NetlinkException e = receive.Should().Throw<NetlinkException>().Which;
            e.Errno.Should().Be(11, "the forged datagram is dropped and the receive times out (EAGAIN)");
            e.IsTransient.Should().BeTrue();
            victim.RejectedNotFromKernel.Should().Be(1);
        }
    }

    [RootFact]
    public void Request_NoopWithAck_KernelAcknowledges()
    {
        using NetworkNamespace ns = NetworkNamespace.Create();
        using NetlinkSocket socket = ns.Enter(() => NetlinkSocket.Open(NetlinkConstants.ProtocolNetfilter, TimeSpan.FromSeconds(2)));
        uint seq = socket.NextSequence();

        socket.Request(Message(NetlinkConstants.MsgNoop, NetlinkConstants.FlagRequest | NetlinkConstants.FlagAck, seq), seq, "noop");

        socket.RejectedNotFromKernel.Should().Be(0);
        socket.LocalPortId.Should().NotBe(0);
    }

    [RootFact]
    public void Request_UnknownCtnetlinkCommand_ThrowsWithKernelErrno()
    {
        using NetworkNamespace ns = NetworkNamespace.Create();
        using NetlinkSocket socket = ns.Enter(() => NetlinkSocket.Open(NetlinkConstants.ProtocolNetfilter, TimeSpan.FromSeconds(2)));
        uint seq = socket.NextSequence();
        var b = new NetlinkMessageBuilder();
        b.BeginMessage((1 << 8) | 0x7F, NetlinkConstants.FlagRequest | NetlinkConstants.FlagAck, seq);
        b.AddNetfilterHeader(2);
        b.EndMessage();

        Action act = () => socket.Request(b.Written, seq, "bogus");

        act.Should().Throw<NetlinkException>().Which.Errno.Should().BeGreaterThan(0);
    }
}
