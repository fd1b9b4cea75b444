using Offload.Backends.Software;

namespace Offload.Doca.Backends;

/// <summary>
/// One flow a DOCA-backed backend holds, with where it is served: a row of <see cref="DocaBackend.SnapshotFlows"/> or
/// <see cref="ResilientOffloadBackend.SnapshotFlows"/>.
/// </summary>
/// <param name="Flow">Key, action and connection as installed; counters from wherever the flow is served (the device's
/// carry no last-seen time).</param>
/// <param name="Placement">Device or software, and why the flow is not on the device.</param>
public sealed record PlacedFlow(InstalledFlow Flow, FlowPlacementInfo Placement);
