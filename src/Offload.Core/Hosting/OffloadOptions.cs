using Offload.Datapath;
using Offload.Policy;

namespace Offload.Hosting;

/// <summary>
/// Options of the hosted Offload switch (<see cref="OffloadServiceCollectionExtensions.AddOffload"/>), validated as a
/// whole when the host starts (<see cref="OffloadOptionsValidator"/>): an invalid value stops start-up with every
/// problem named.
/// </summary>
public sealed class OffloadOptions
{
    /// <summary>The configuration section these options bind from by convention ("Offload").</summary>
    public const string SectionName = "Offload";

    /// <summary>Fast-path backend. Default <see cref="OffloadBackendKind.Software"/>.</summary>
    public OffloadBackendKind Backend { get; set; } = OffloadBackendKind.Software;

    /// <summary>Slow path. Default <see cref="OffloadSlowPathKind.Policy"/>.</summary>
    public OffloadSlowPathKind SlowPath { get; set; } = OffloadSlowPathKind.Policy;

    /// <summary>Path of the policy YAML document loaded at start. Exactly one of this and <see cref="Policy"/> is set.</summary>
    public string? PolicyFile { get; set; }

    /// <summary>A policy supplied in code (already validated by <see cref="PolicyLoader"/>). Exactly one of this and
    /// <see cref="PolicyFile"/> is set.</summary>
    public PolicySnapshot? Policy { get; set; }

    /// <summary>Flows the software fast path holds (fixed at start). Default 4,194,304.</summary>
    public int FlowCapacity { get; set; } = 4 * 1024 * 1024;

    /// <summary>Backend operations that may await completion before back-pressure. Default 4,096.</summary>
    public int BackendQueueDepth { get; set; } = 4096;

    /// <summary>Overrides the policy's <c>conntrack.maxEntries</c> when set.</summary>
    public int? MaxConnections { get; set; }

    /// <summary>Connections whose slow-path decision may be pending at once. Default 65,536.</summary>
    public int MaxPendingConnections { get; set; } = 65_536;

    /// <summary>Frames held per connection while its decision is pending. Default 64.</summary>
    public int PendingFramesPerConnection { get; set; } = 64;

    /// <summary>Non-first fragments remembered. Default 8,192.</summary>
    public int FragmentCapacity { get; set; } = 8192;

    /// <summary>QoS token buckets available. Default 4,096.</summary>
    public int MeterCapacity { get; set; } = 4096;

    /// <summary>Connections re-derived per poll while a revalidation runs in slices. Default 16,384.</summary>
    public int RevalidationSlice { get; set; } = 16_384;

    /// <summary>How often the hosted service polls the datapath (pending decisions, conntrack expiry, flow aging,
    /// backend completions). Between 1 ms and 1 min; default 100 ms.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How long an installed drop flow lives without traffic. At least 1 s; default 10 s.</summary>
    public TimeSpan DropFlowIdleTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Overrides the policy's <c>offload.when</c> when set (claim S3: what is offloaded and when).</summary>
    public OffloadTrigger? OffloadWhen { get; set; }

    /// <summary>Overrides the policy's <c>offload.minPackets</c> when set.</summary>
    public int? OffloadMinPackets { get; set; }
}
