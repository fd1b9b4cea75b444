using Offload.Conntrack;

namespace Offload.Kernel.Sync;

/// <summary>Settings of <see cref="KernelConntrackSync"/>; checked by <see cref="Validate"/> when it starts.</summary>
public sealed class KernelConntrackSyncOptions
{
    /// <summary>How long the sync thread waits for kernel events before it turns to timeout refreshes: the most a
    /// refresh waits, and the most <see cref="KernelConntrackSync.Dispose"/> waits for the thread. Default 100 ms.</summary>
    public TimeSpan EventWait { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Receive buffer of the event socket (SO_RCVBUF, capped by net.core.rmem_max). Events beyond it are lost
    /// and recovered by a resync from a dump. Default 4 MiB.</summary>
    public int EventBufferBytes { get; set; } = 4 << 20;

    /// <summary>
    /// The kernel's timeouts by protocol and state (its net.netfilter.nf_conntrack_*_timeout* values; the defaults are
    /// Linux's). A connection the fast path carried gets its state's timeout less the time it has been idle.
    /// </summary>
    public ConntrackTimeouts Timeouts { get; set; } = new();

    /// <summary>Timeout updates sent to the kernel per second at most; the rest wait (the latest activity of a
    /// connection replaces an older one still waiting). Default 20,000.</summary>
    public int MaxTimeoutUpdatesPerSecond { get; set; } = 20_000;

    /// <summary>Activity records waiting for the sync thread at most; beyond it they are counted and dropped (the next
    /// report brings them again). Default 1,048,576.</summary>
    public int MaxPendingActivity { get; set; } = 1 << 20;

    /// <summary>The kernel conntrack zone the datapath's connections live in. Default 0.</summary>
    public ushort Zone { get; set; }

    /// <summary>
    /// How often the sync dumps the kernel's table and raises a DESTROY for every entry that vanished without one: the
    /// kernel reports events only for entries created while a listener existed (net.netfilter.nf_conntrack_events=2,
    /// the default), so an entry from before the agent started would otherwise never be seen to go. Zero or
    /// <see cref="Timeout.InfiniteTimeSpan"/> turns it off. Default 1 min.
    /// </summary>
    public TimeSpan ResyncInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Pause after a failure before the sync thread tries again (with a resync). Default 200 ms.</summary>
    public TimeSpan ErrorBackoff { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(EventWait, TimeSpan.Zero, nameof(EventWait));
        ArgumentOutOfRangeException.ThrowIfLessThan(EventBufferBytes, 1, nameof(EventBufferBytes));
        ArgumentNullException.ThrowIfNull(Timeouts, nameof(Timeouts));
        Timeouts.Validate();
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxTimeoutUpdatesPerSecond, 1, nameof(MaxTimeoutUpdatesPerSecond));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxPendingActivity, 1, nameof(MaxPendingActivity));
        ArgumentOutOfRangeException.ThrowIfLessThan(ErrorBackoff, TimeSpan.Zero, nameof(ErrorBackoff));
        if (ResyncInterval < TimeSpan.Zero && ResyncInterval != Timeout.InfiniteTimeSpan)
            throw new ArgumentOutOfRangeException(nameof(ResyncInterval), ResyncInterval, "Use zero or Timeout.InfiniteTimeSpan to turn periodic resyncs off.");
    }
}
