namespace Offload.Kernel.SlowPath;

/// <summary>Counters of a <see cref="KernelSlowPath"/>.</summary>
public sealed record KernelSlowPathStats
{
    /// <summary>Packets written into the kernel.</summary>
    public long Injected { get; init; }

    /// <summary>Packets the kernel forwarded and the adapter matched to their request.</summary>
    public long Forwarded { get; init; }

    /// <summary>Packets the kernel dropped with an NFLOG record naming the rule.</summary>
    public long Dropped { get; init; }

    /// <summary>Packets with no answer within <see cref="KernelSlowPathOptions.DecisionTimeout"/>.</summary>
    public long TimedOut { get; init; }

    /// <summary>Learned actions that, applied to the injected frame, reproduced the kernel's output byte for byte.</summary>
    public long Verified { get; init; }

    /// <summary>Learned actions that did not reproduce the kernel's output (the kernel's frame was sent, nothing offloaded).</summary>
    public long Mismatches { get; init; }

    /// <summary>Frames out of a TAP that belonged to no pending request (kernel chatter, late answers).</summary>
    public long Unmatched { get; init; }

    /// <summary>Failures of the adapter itself (a TAP write refused, a netlink error), each answered with a drop.</summary>
    public long Errors { get; init; }

    /// <summary>Requests waiting for the kernel now.</summary>
    public int Pending { get; init; }
}
