namespace Offload.Doca.Flow;

/// <summary>A Flow CT connection: both directions, NAT expressed as per-direction rewrites.</summary>
/// <param name="Origin">The tuple of the original direction.</param>
/// <param name="Reply">The tuple replies arrive with (after NAT).</param>
/// <param name="OriginAction">What the original direction does.</param>
/// <param name="ReplyAction">What the reply direction does.</param>
/// <param name="TimeoutSeconds">Idle seconds before AGED; 0 = never.</param>
public readonly record struct DocaConnectionSpec(DocaFlowTuple Origin, DocaFlowTuple Reply, DocaFlowAction OriginAction, DocaFlowAction ReplyAction, uint TimeoutSeconds = 0);

/// <summary>Per-direction counters and the last hit of a CT connection.</summary>
/// <param name="Origin">Original direction.</param>
/// <param name="Reply">Reply direction.</param>
/// <param name="LastHitSeconds">Device clock seconds of the last packet.</param>
public readonly record struct DocaConnectionStats(DocaCounters Origin, DocaCounters Reply, ulong LastHitSeconds);
