namespace Offload.Kernel.SlowPath;

/// <summary>Options of <see cref="KernelSlowPath"/>.</summary>
public sealed class KernelSlowPathOptions
{
    /// <summary>How long a packet written into the kernel may take to come out of an emulated NIC (or be logged as
    /// dropped) before it is dropped as <see cref="DropReason.SlowPathTimeout"/>. Default 1 s.</summary>
    public TimeSpan DecisionTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Longest pause of the adapter's thread between two polls of the TAPs while decisions are pending (it waits for
    /// NFLOG records that long, so this is also the NFLOG receive timeout). Default 1 ms.
    /// </summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(1);

    /// <summary>Lifetime of a load balancer's per-connection backend pin in the kernel map: it is only needed until
    /// the first packet created the conntrack entry that keeps the NAT binding. Default 30 s.</summary>
    public TimeSpan PinTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Most decisions in flight at once; more are dropped at once as <see cref="DropReason.PendingQueueFull"/>.
    /// Default 4,096.</summary>
    public int MaxPendingDecisions { get; set; } = 4096;

    /// <summary>Throws when an option is out of range.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(DecisionTimeout, TimeSpan.Zero, nameof(DecisionTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThan(PollInterval, TimeSpan.FromMilliseconds(1), nameof(PollInterval));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(PollInterval, TimeSpan.FromSeconds(1), nameof(PollInterval));
        ArgumentOutOfRangeException.ThrowIfLessThan(PinTimeout, TimeSpan.FromSeconds(1), nameof(PinTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxPendingDecisions, 1, nameof(MaxPendingDecisions));
    }
}
