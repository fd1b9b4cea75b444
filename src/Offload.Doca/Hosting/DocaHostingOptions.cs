using Offload.Doca.Backends;

namespace Offload.Doca.Hosting;

/// <summary>Options of the DOCA backend the hosted switch creates (<see cref="DocaOffloadBuilderExtensions.AddDoca"/>).</summary>
public sealed class DocaHostingOptions
{
    /// <summary>Flows the device may hold. Default 65,536.</summary>
    public int MaxFlows { get; set; } = 65536;

    /// <summary>DOCA queue depth per (port, queue). Default 128.</summary>
    public int QueueDepth { get; set; } = 128;

    /// <summary>DOCA pipe queues. Default 1.</summary>
    public ushort Queues { get; set; } = 1;

    /// <summary>Offload connections as DOCA Flow CT entries (<see cref="DocaBackendOptions.ConnectionTracking"/>). Default false.</summary>
    public bool ConnectionTracking { get; set; }

    /// <summary>
    /// Serve every flow in software first and offload it after (<see cref="ResilientOffloadBackend"/>), so a device
    /// failure, a full table or an unsupported action never loses a connection. Default true; false gives the bare
    /// <see cref="DocaBackend"/> (the datapath then sees only the device's misses).
    /// </summary>
    public bool SoftwareFallback { get; set; } = true;

    /// <summary>Retry, circuit-breaker and timeout settings of the software fallback.</summary>
    public ResilientOffloadOptions Resilience { get; set; } = new();
}
