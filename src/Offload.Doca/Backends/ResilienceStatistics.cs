namespace Offload.Doca.Backends;

/// <summary>What <see cref="ResilientOffloadBackend"/> has done since it was created.</summary>
public sealed class ResilienceStatistics
{
    internal ResilienceStatistics()
    {
    }

    internal long offloaded, reoffloaded, transientFailures, submitFailures, errorCompletions, capacitySpills, unsupported, deviceFailures, flowsMovedToSoftware, timeouts, breakerOpenings, recoveries, lost, portFailures;

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

    /// <summary>Times one ingress port of the device failed while the others kept working.</summary>
    public long PortFailures => Interlocked.Read(ref portFailures);

    /// <summary>Flows neither backend could hold (software table full too). Should stay zero.</summary>
    public long Lost => Interlocked.Read(ref lost);
}
