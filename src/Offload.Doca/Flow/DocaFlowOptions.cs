namespace Offload.Doca.Flow;

/// <summary>Global DOCA Flow configuration (<c>doca_flow_cfg</c>), validated before use.</summary>
public sealed record DocaFlowOptions
{
    /// <summary>Number of submission queues (1..64); each is used from one thread.</summary>
    public ushort PipeQueues { get; init; } = 1;

    /// <summary>Operations a queue holds before submissions get AGAIN; 0 = DOCA's default (128).</summary>
    public uint QueueDepth { get; init; }

    /// <summary>Counters to reserve; 0 = the library's default.</summary>
    public uint Counters { get; init; }

    /// <summary>DOCA mode arguments, e.g. "vnf,hws" or "switch,hws".</summary>
    public string ModeArgs { get; init; } = "vnf,hws";

    /// <summary>Set up Flow CT (must happen before any port starts); 0 = no CT.</summary>
    public uint ConnectionTrackingEntries { get; init; }

    /// <summary>Errors in this snapshot, empty when it is usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (PipeQueues is 0 or > 64)
            errors.Add($"{nameof(PipeQueues)} must be 1..64, was {PipeQueues}");
        if (QueueDepth > 65536)
            errors.Add($"{nameof(QueueDepth)} must be at most 65536, was {QueueDepth}");
        if (string.IsNullOrWhiteSpace(ModeArgs))
            errors.Add($"{nameof(ModeArgs)} must not be empty");
        return errors;
    }
}
