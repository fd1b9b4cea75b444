using Offload.Conntrack;

namespace Offload.Kernel.Conntrack;

/// <summary>One entry of the kernel's conntrack table as ctnetlink reports it.</summary>
public readonly record struct KernelConntrackEntry
{
    /// <summary>The original-direction tuple.</summary>
    public ConntrackTuple Original { get; init; }
    /// <summary>The reply-direction tuple (differs from the inverted original when NAT applies).</summary>
    public ConntrackTuple Reply { get; init; }
    /// <summary>Status bits.</summary>
    public ConntrackStatus Status { get; init; }
    /// <summary>The kernel's TCP state number (enum tcp_conntrack), when the entry is TCP and reports one.</summary>
    public byte? KernelTcpState { get; init; }
    /// <summary>The state in Offload's vocabulary (TCP from the kernel state; others from the status bits).</summary>
    public ConnState State { get; init; }
    /// <summary>Seconds left before the entry expires.</summary>
    public uint TimeoutSeconds { get; init; }
    /// <summary>The connection mark.</summary>
    public uint Mark { get; init; }
    /// <summary>The conntrack zone (0 = default).</summary>
    public ushort Zone { get; init; }
    /// <summary>The kernel's entry id.</summary>
    public uint Id { get; init; }
    /// <summary>Whether byte/packet counters were reported (net.netfilter.nf_conntrack_acct=1).</summary>
    public bool HasCounters { get; init; }
    /// <summary>Packets in the original direction.</summary>
    public ulong OriginalPackets { get; init; }
    /// <summary>Bytes in the original direction.</summary>
    public ulong OriginalBytes { get; init; }
    /// <summary>Packets in the reply direction.</summary>
    public ulong ReplyPackets { get; init; }
    /// <summary>Bytes in the reply direction.</summary>
    public ulong ReplyBytes { get; init; }
}
