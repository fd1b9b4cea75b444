namespace Offload.Kernel.PacketIo;

/// <summary>One attached interface's counters since it was attached.</summary>
/// <param name="Port">The datapath port number.</param>
/// <param name="PortName">The port's name.</param>
/// <param name="InterfaceName">The Linux interface.</param>
/// <param name="ReceivedFrames">Frames received and handed to the switch.</param>
/// <param name="ReceivedBytes">Bytes of those frames.</param>
/// <param name="SentFrames">Frames the kernel took for sending.</param>
/// <param name="SentBytes">Bytes of those frames.</param>
/// <param name="ReceiveErrors">Errors reported on the socket while receiving (e.g. ENETDOWN when the interface went down).</param>
/// <param name="SendErrors">Frames the kernel refused to send (interface down, queue full, longer than the MTU).</param>
/// <param name="Oversize">Frames longer than a slot: received ones discarded, and sent ones never queued.</param>
/// <param name="KernelDrops">Frames the kernel dropped because the socket's receive queue was full (PACKET_STATISTICS).</param>
/// <param name="LastErrno">The errno of the last receive or send error, 0 when none.</param>
public readonly record struct PacketPumpPortStatistics(
    ushort Port, string PortName, string InterfaceName,
    long ReceivedFrames, long ReceivedBytes, long SentFrames, long SentBytes,
    long ReceiveErrors, long SendErrors, long Oversize, long KernelDrops, int LastErrno);
