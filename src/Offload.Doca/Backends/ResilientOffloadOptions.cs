namespace Offload.Doca.Backends;

/// <summary>Options of <see cref="ResilientOffloadBackend"/>.</summary>
public sealed class ResilientOffloadOptions
{
    /// <summary>First retry delay after a transient hardware failure; doubles per attempt. Default 50 ms.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Longest retry delay (also the delay before a table-full flow is tried again). Default 5 s.</summary>
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Circuit breaker: share of failed hardware operations in <see cref="SamplingDuration"/> that opens it. Default 0.5.</summary>
    public double FailureRatio { get; set; } = 0.5;

    /// <summary>Circuit breaker: operations in the sampling window before the ratio counts. Default 200.</summary>
    public int MinimumThroughput { get; set; } = 200;

    /// <summary>Circuit breaker: sampling window. Default 10 s.</summary>
    public TimeSpan SamplingDuration { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Circuit breaker: how long it stays open before one probe. Default 5 s.</summary>
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often a failed device is asked whether it answers again. Default 1 s.</summary>
    public TimeSpan RecoveryProbeInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>A hardware operation without a completion after this long counts as a failure. Default 2 s.</summary>
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Re-offload attempts started per <see cref="Offload.Backends.FlowBackend.PollCompletions"/>. Default 4096.</summary>
    public int ReoffloadPerPoll { get; set; } = 4096;

    /// <summary>Caller completions that may wait to be polled before back-pressure. Default 4096.</summary>
    public int QueueDepth { get; set; } = 4096;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(RetryBaseDelay, TimeSpan.Zero, nameof(RetryBaseDelay));
        ArgumentOutOfRangeException.ThrowIfLessThan(RetryMaxDelay, RetryBaseDelay, nameof(RetryMaxDelay));
        if (FailureRatio is <= 0 or > 1)
            throw new ArgumentOutOfRangeException(nameof(FailureRatio), FailureRatio, "must be in (0, 1]");
        ArgumentOutOfRangeException.ThrowIfLessThan(MinimumThroughput, 2, nameof(MinimumThroughput));
        ArgumentOutOfRangeException.ThrowIfLessThan(SamplingDuration, TimeSpan.FromMilliseconds(500), nameof(SamplingDuration));
        ArgumentOutOfRangeException.ThrowIfLessThan(BreakDuration, TimeSpan.FromMilliseconds(500), nameof(BreakDuration));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(RecoveryProbeInterval, TimeSpan.Zero, nameof(RecoveryProbeInterval));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(OperationTimeout, TimeSpan.Zero, nameof(OperationTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThan(ReoffloadPerPoll, 1, nameof(ReoffloadPerPoll));
        ArgumentOutOfRangeException.ThrowIfLessThan(QueueDepth, 1, nameof(QueueDepth));
    }
}
