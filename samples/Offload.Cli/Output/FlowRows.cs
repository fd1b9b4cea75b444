using Offload.Backends.Software;
using Offload.Doca.Backends;

namespace Offload.Cli.Output;

/// <summary>One row of a flow dump: the flow, and where it is served when the switch drives a device.</summary>
/// <param name="Flow">Key, action, connection and counters.</param>
/// <param name="Placement">Device or software and why not on the device; null for the software backend, where the
/// host table is every flow.</param>
internal sealed record FlowRow(InstalledFlow Flow, FlowPlacementInfo? Placement);

/// <summary>
/// Collects the rows of <c>offload flows</c>. The host table holds only what reaches the host; with a DOCA backend the
/// flows the device holds come from the backend itself, each with its placement, so that the rows add up to the
/// total the datapath counts.
/// </summary>
internal static class FlowRows
{
    public static List<FlowRow> Of(SwitchView view)
    {
        var rows = new List<FlowRow>();
        switch (view.Datapath.OffloadBackend)
        {
            case ResilientOffloadBackend resilient:
                // Software-placed flows are in its host table as well: its own listing has every flow exactly once.
                foreach (PlacedFlow p in resilient.SnapshotFlows())
                    rows.Add(new FlowRow(p.Flow, p.Placement));
                break;
            case DocaBackend device:
                foreach (PlacedFlow p in device.SnapshotFlows())
                    rows.Add(new FlowRow(p.Flow, p.Placement));
                var software = new FlowPlacementInfo(FlowPlacement.Software, NotOffloadedReason.None, null, 0);
                foreach (InstalledFlow f in view.Backend.Snapshot())
                    rows.Add(new FlowRow(f, software));
                break;
            default:
                foreach (InstalledFlow f in view.Backend.Snapshot())
                    rows.Add(new FlowRow(f, null));
                break;
        }
        return rows;
    }

    /// <summary>"device" or "software".</summary>
    public static string PlacementName(FlowPlacement placement) => placement == FlowPlacement.Hardware ? "device" : "software";

    /// <summary>Kebab-case, as drop reasons are shown: "table-full", "circuit-open"; null for <see cref="NotOffloadedReason.None"/>.</summary>
    public static string? ReasonName(NotOffloadedReason reason) => reason switch
    {
        NotOffloadedReason.None => null,
        NotOffloadedReason.Pending => "pending",
        NotOffloadedReason.Unsupported => "unsupported",
        NotOffloadedReason.TableFull => "table-full",
        NotOffloadedReason.TransientFailure => "transient-failure",
        NotOffloadedReason.DeviceFailed => "device-failed",
        NotOffloadedReason.CircuitOpen => "circuit-open",
        NotOffloadedReason.TimedOut => "timed-out",
        NotOffloadedReason.Rejected => "rejected",
        _ => reason.ToString().ToLowerInvariant(),
    };

    /// <summary><c>placement:device</c>, <c>placement:software(table-full: doca flow table full (64 flows))</c>.</summary>
    public static string Text(FlowPlacementInfo p)
    {
        string where = "placement:" + PlacementName(p.Placement);
        string? reason = ReasonName(p.Reason);
        if (reason is null)
            return where;
        return p.Detail is { Length: > 0 } detail ? $"{where}({reason}: {detail})" : $"{where}({reason})";
    }
}
