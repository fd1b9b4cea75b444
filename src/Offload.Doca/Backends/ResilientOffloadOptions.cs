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

/// <summary>Where a flow is served.</summary>
public enum FlowPlacement : byte
{
    /// <summary>In the software fast path.</summary>
    Software,
    /// <summary>On the device.</summary>
    Hardware,
}

/// <summary>Why a flow is not on the device.</summary>
public enum NotOffloadedReason : byte
{
    /// <summary>It is on the device.</summary>
    None,
    /// <summary>Its hardware add is queued or in flight.</summary>
    Pending,
    /// <summary>The device cannot express its match or action (permanent; see the detail).</summary>
    Unsupported,
    /// <summary>The device table was full; it is tried again later.</summary>
    TableFull,
    /// <summary>A transient device error; retried with backoff.</summary>
    TransientFailure,
    /// <summary>The device failed; re-offloaded once it recovers.</summary>
    DeviceFailed,
    /// <summary>The circuit breaker is open after too many failures; re-offloaded when it closes.</summary>
    CircuitOpen,
    /// <summary>The hardware operation got no completion in time.</summary>
    TimedOut,
    /// <summary>The device refused the flow for another reason (see the detail); retried with backoff.</summary>
    Rejected,
}

/// <summary>Where a flow is and, when it is not on the device, why.</summary>
/// <param name="Placement">Hardware or software.</param>
/// <param name="Reason">Why it is not on the device (<see cref="NotOffloadedReason.None"/> when it is).</param>
/// <param name="Detail">The device's or the capability check's words, when there are any.</param>
/// <param name="Attempts">Failed hardware attempts since it was last on the device.</param>
public readonly record struct FlowPlacementInfo(FlowPlacement Placement, NotOffloadedReason Reason, string? Detail, int Attempts);

/// <summary>What <see cref="ResilientOffloadBackend"/> has done since it was created.</summary>
public sealed class ResilienceStatistics
{
    internal ResilienceStatistics()
    {
    }

    internal long offloaded, reoffloaded, transientFailures, submitFailures, errorCompletions, capacitySpills, unsupported, deviceFailures, flowsMovedToSoftware, timeouts, breakerOpenings, recoveries, lost;

    /// <summary>Flows put on the device at their first attempt.</summary>
    public long Offloaded => Interlocked.Read(ref offloaded);

    /// <summary>Flows put on the device after having been refused or moved to software.</summary>
    public long Reoffloaded => Interlocked.Read(ref reoffloaded);

    /// <summary>Transient hardware failures (submission errors, ERROR completions).</summary>
    public long TransientFailures => Interlocked.Read(ref transientFailures);

    /// <summary>Transient failures DOCA returned when the operation was submitted.</summary>
    public long SubmitFailures => Interlocked.Read(ref submitFailures);

    /// <summary>Operations DOCA accepted and then completed with an error.</summary>
    public long ErrorCompletions => Interlocked.Read(ref errorCompletions);

    /// <summary>Adds refused because the device table was full.</summary>
    public long CapacitySpills => Interlocked.Read(ref capacitySpills);

    /// <summary>Flows the device cannot express.</summary>
    public long Unsupported => Interlocked.Read(ref unsupported);

    /// <summary>Times the device failed.</summary>
    public long DeviceFailures => Interlocked.Read(ref deviceFailures);

    /// <summary>Flows moved from the device to software because the device failed.</summary>
    public long FlowsMovedToSoftware => Interlocked.Read(ref flowsMovedToSoftware);

    /// <summary>Hardware operations that timed out.</summary>
    public long Timeouts => Interlocked.Read(ref timeouts);

    /// <summary>Times the circuit breaker opened.</summary>
    public long BreakerOpenings => Interlocked.Read(ref breakerOpenings);

    /// <summary>Times a failed device came back.</summary>
    public long Recoveries => Interlocked.Read(ref recoveries);

    /// <summary>Flows neither backend could hold (software table full too). Should stay zero.</summary>
    public long Lost => Interlocked.Read(ref lost);
}
