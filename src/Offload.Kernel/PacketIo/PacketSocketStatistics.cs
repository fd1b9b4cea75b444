namespace Offload.Kernel.PacketIo;

/// <summary>Cumulative counters of a packet socket (PACKET_STATISTICS, summed over every read since it was opened).</summary>
/// <param name="Packets">Frames the socket was offered, including those it dropped.</param>
/// <param name="Drops">Frames the kernel dropped because the socket's receive queue was full.</param>
/// <param name="Truncated">Frames received longer than a batch slot (counting a restored VLAN tag), counted and discarded by us.</param>
public readonly record struct PacketSocketStatistics(long Packets, long Drops, long Truncated);
