using Offload.Conntrack;

namespace Offload.Kernel.Conntrack;

/// <summary>Maps the kernel's enum tcp_conntrack to <see cref="ConnState"/>.</summary>
public static class KernelTcpStates
{
    /// <summary>
    /// The <see cref="ConnState"/> for a kernel TCP state number; false for numbers outside the kernel's enum
    /// (0 NONE … 9 SYN_SENT2).
    /// </summary>
    public static bool TryMap(byte kernelState, out ConnState state)
    {
        state = kernelState switch
        {
            0 => ConnState.None,
            1 => ConnState.SynSent,
            2 => ConnState.SynRecv,
            3 => ConnState.Established,
            4 => ConnState.FinWait,
            5 => ConnState.CloseWait,
            6 => ConnState.LastAck,
            7 => ConnState.TimeWait,
            8 => ConnState.Close,
            9 => ConnState.SynSent2,
            _ => ConnState.None,
        };
        return kernelState <= 9;
    }

    /// <summary>The state of a non-TCP entry as the kernel's status bits describe it.</summary>
    public static ConnState FromStatus(byte protocol, ConntrackStatus status)
    {
        if ((status & ConntrackStatus.Assured) != 0 && protocol == Offload.Packets.IpProtocol.Udp)
            return ConnState.Assured;
        return (status & ConntrackStatus.SeenReply) != 0 ? ConnState.Replied : ConnState.Unreplied;
    }
}
