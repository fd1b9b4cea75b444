namespace Offload.Doca.Backends;

/// <summary>Options of <see cref="DocaBackend"/>.</summary>
public sealed class DocaBackendOptions
{
    /// <summary>Ingress ports; each gets a root pipe. Default: port 0 as a tunnel uplink.</summary>
    public IReadOnlyList<DocaIngressPort> Ports { get; set; } = [new DocaIngressPort(0)];

    /// <summary>Flows the device may hold (each port's pipe is sized for this). Default 65,536.</summary>
    public int MaxFlows { get; set; } = 65536;

    /// <summary>DOCA queue depth: operations in flight per (port, queue) before back-pressure. Default 128.</summary>
    public int QueueDepth { get; set; } = 128;

    /// <summary>DOCA pipe queues; a flow always uses the queue its key hashes to, so its operations complete in order. Default 1.</summary>
    public ushort Queues { get; set; } = 1;

    /// <summary>Submissions staged with WAIT_FOR_BATCH before one is pushed without it. Default 32.</summary>
    public int SubmitBatch { get; set; } = 32;

    /// <summary>
    /// Offload connections through DOCA Flow CT: both directions of a connection whose packets arrive untunnelled (VM-facing ports, the public side of the uplink) become
    /// one CT entry (origin and reply, each with its own action), aged as one. Flows of other connections, and
    /// connections the CT table refuses, stay plain entries. Default false.
    /// </summary>
    public bool ConnectionTracking { get; set; }

    /// <summary>Connections the CT table may hold (with <see cref="ConnectionTracking"/>). Default 65,536.</summary>
    public int ConnectionTrackingEntries { get; set; } = 65536;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Ports, nameof(Ports));
        if (Ports.Count == 0)
            throw new ArgumentException("at least one ingress port is needed", nameof(Ports));
        var seen = new HashSet<ushort>();
        foreach (var p in Ports)
        {
            if (!seen.Add(p.Port))
                throw new ArgumentException($"port {p.Port} is listed twice", nameof(Ports));
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxFlows, 1, nameof(MaxFlows));
        ArgumentOutOfRangeException.ThrowIfLessThan(QueueDepth, 1, nameof(QueueDepth));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(QueueDepth, 65536, nameof(QueueDepth));
        ArgumentOutOfRangeException.ThrowIfZero(Queues, nameof(Queues));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(Queues, (ushort)64, nameof(Queues));
        ArgumentOutOfRangeException.ThrowIfLessThan(SubmitBatch, 1, nameof(SubmitBatch));
        ArgumentOutOfRangeException.ThrowIfLessThan(ConnectionTrackingEntries, 1, nameof(ConnectionTrackingEntries));
    }
}
