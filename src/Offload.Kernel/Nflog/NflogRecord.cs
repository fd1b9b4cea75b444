using Offload.Kernel.Conntrack;

namespace Offload.Kernel.Nflog;

/// <summary>
/// One packet the kernel logged to an NFLOG group: where it was seen, what the ruleset said about it (the log prefix)
/// and the connection it belongs to.
/// </summary>
public readonly record struct NflogRecord
{
    /// <summary>The NFLOG group the record was sent to.</summary>
    public ushort Group { get; init; }

    /// <summary>The protocol family of the hook that logged it (2 = IPv4, 10 = IPv6).</summary>
    public byte Family { get; init; }

    /// <summary>The packet's link-layer protocol (an EtherType, e.g. 0x0800), 0 when the kernel knew none.</summary>
    public ushort HardwareProtocol { get; init; }

    /// <summary>The netfilter hook (0 prerouting, 1 input, 2 forward, 3 output, 4 postrouting).</summary>
    public byte Hook { get; init; }

    /// <summary>The interface index the packet came in on, 0 when none (locally generated).</summary>
    public uint InputInterfaceIndex { get; init; }

    /// <summary>The interface index the packet was routed out of, 0 when not yet routed.</summary>
    public uint OutputInterfaceIndex { get; init; }

    /// <summary>The packet mark, when the kernel reported one (it omits a zero mark).</summary>
    public uint? Mark { get; init; }

    /// <summary>The log prefix as the rule wrote it (<c>reason:id</c> for rules of the generated ruleset), empty when none.</summary>
    public string Prefix { get; init; }

    /// <summary>The drop reason named by the prefix, <see cref="DropReason.None"/> when the prefix names none.</summary>
    public DropReason Reason { get; init; }

    /// <summary>What the prefix says after the reason (the rule id, e.g. <c>3</c> or <c>web:inbound</c>), empty when none.</summary>
    public string RuleId { get; init; }

    /// <summary>Whether <see cref="Tuple"/> was read from the logged packet.</summary>
    public bool HasTuple { get; init; }

    /// <summary>The logged packet's 5-tuple (ICMP as in <see cref="ConntrackTuple"/>); default when <see cref="HasTuple"/> is false.</summary>
    public ConntrackTuple Tuple { get; init; }

    /// <summary>Why the payload gave no tuple: the packet parser's reason, <see cref="DropReason.None"/> when it did or when no payload was copied.</summary>
    public DropReason TupleError { get; init; }

    /// <summary>Bytes of the packet that were copied to user space.</summary>
    public int PayloadLength { get; init; }

    /// <summary>Whether the copy range cut the packet short (the tuple is still read from the headers).</summary>
    public bool PayloadTruncated { get; init; }

    /// <summary>The packet's conntrack entry, when the listener asked for it and the packet had one.</summary>
    public KernelConntrackEntry? Conntrack { get; init; }

    /// <summary>The kernel's enum ip_conntrack_info for the packet (0 established, 2 related, 3 new, +3 reply direction), when reported.</summary>
    public uint? ConntrackInfo { get; init; }
}
