namespace Offload.Doca.Backends;

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
