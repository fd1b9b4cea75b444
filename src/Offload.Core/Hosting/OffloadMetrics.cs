using System.Diagnostics;
using System.Diagnostics.Metrics;
using Offload.Backends;
using Offload.Conntrack;

namespace Offload.Hosting;

/// <summary>
/// The <c>offload.*</c> instruments on the meter <see cref="MeterName"/>, named after OpenTelemetry's conventions.
/// Counters are observable: a collection reads the datapath's own counters under the runtime's lock, so the packet
/// path pays nothing for them.
/// </summary>
/// <remarks>
/// Instruments (tag keys in brackets): <c>offload.packets</c> [offload.path = fast | slow | none — none: dropped
/// before any lookup, e.g. malformed or from an unknown port], <c>offload.bytes</c> [offload.path = fast | slow; bytes
/// of each frame as the datapath hands it on], <c>offload.forwarded</c>, <c>offload.drops</c>
/// [offload.drop.reason = kebab-case <see cref="DropReason"/>], <c>offload.flows.installed</c>,
/// <c>offload.flows.removed</c>, <c>offload.flows.install_failures</c>, <c>offload.flows.offloaded</c>
/// [offload.backend], <c>offload.conntrack.entries</c> [offload.conntrack.state = SYN_SENT … ASSURED],
/// <c>offload.revalidation.duration</c> (histogram, seconds), <c>offload.backend.health</c> [offload.backend,
/// offload.backend.health = healthy | degraded | failed; 1 for the current state, 0 for the others],
/// <c>offload.port.packets</c> and <c>offload.port.bytes</c> [offload.port = the policy's port name or uplink,
/// network.io.direction = receive (frames handed to the switch from the port) | transmit (frames the switch sent out
/// of it)].
/// </remarks>
public sealed class OffloadMetrics : IDisposable
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "Offload";

    private static readonly string[] HealthNames = ["healthy", "degraded", "failed"];

    private readonly OffloadRuntime _runtime;
    private readonly bool _ownsMeter;
    private readonly Histogram<double> _revalidation;

    internal OffloadMetrics(OffloadRuntime runtime, IMeterFactory? meterFactory)
    {
        _runtime = runtime;
        _ownsMeter = meterFactory is null;
        Meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);

        Meter.CreateObservableCounter("offload.packets", ObservePackets, "{packet}", "Frames received, by the path that handled them.");
        Meter.CreateObservableCounter("offload.bytes", ObserveBytes, "By", "Bytes of the frames the datapath handed on, by path.");
        Meter.CreateObservableCounter("offload.forwarded", () => Read(r => r.Stats.Forwarded), "{packet}", "Frames sent out of a port.");
        Meter.CreateObservableCounter("offload.drops", ObserveDrops, "{packet}", "Frames dropped, by reason.");
        Meter.CreateObservableCounter("offload.flows.installed", () => Read(r => r.Stats.FlowsInstalled), "{flow}", "Flows installed into the fast path.");
        Meter.CreateObservableCounter("offload.flows.removed", () => Read(r => r.Stats.FlowsRemoved), "{flow}", "Flows removed from the fast path.");
        Meter.CreateObservableCounter("offload.flows.install_failures", () => Read(r => r.Stats.FlowInstallFailures), "{flow}",
            "Flow installs the backend refused; those connections stay on the slow path.");
        Meter.CreateObservableUpDownCounter("offload.flows.offloaded", ObserveOffloaded, "{flow}", "Flows in each fast-path backend now.");
        Meter.CreateObservableUpDownCounter("offload.conntrack.entries", ObserveConntrack, "{connection}", "Tracked connections, by state.");
        Meter.CreateObservableGauge("offload.backend.health", ObserveHealth, null, "1 for each backend's current health state, 0 for the others.");
        Meter.CreateObservableCounter("offload.port.packets", () => ObservePorts(bytes: false), "{packet}", "Frames per port, received from it and sent out of it.");
        Meter.CreateObservableCounter("offload.port.bytes", () => ObservePorts(bytes: true), "By", "Bytes per port, received from it and sent out of it.");
        _revalidation = Meter.CreateHistogram<double>("offload.revalidation.duration", "s", "Time to revalidate tracked connections after a policy change.");
    }

    /// <summary>The meter.</summary>
    public Meter Meter { get; }

    internal void RecordRevalidation(TimeSpan elapsed) => _revalidation.Record(elapsed.TotalSeconds);

    private long Read(Func<MetricsReading, long> read) => _runtime.ReadMetrics() is { } r ? read(r) : 0;

    private IEnumerable<Measurement<long>> ObservePackets()
    {
        if (_runtime.ReadMetrics() is not { } r)
            return [];
        var s = r.Stats;
        return
        [
            new(s.FastPathFrames, Path("fast")),
            new(s.SlowPathFrames, Path("slow")),
            new(s.Frames - s.FastPathFrames - s.SlowPathFrames, Path("none")),
        ];
    }

    private IEnumerable<Measurement<long>> ObserveBytes()
    {
        if (_runtime.ReadMetrics() is not { } r)
            return [];
        return [new(r.FastPathBytes, Path("fast")), new(r.SlowPathBytes, Path("slow"))];
    }

    private IEnumerable<Measurement<long>> ObserveDrops()
    {
        if (_runtime.ReadMetrics() is not { } r)
            return [];
        var list = new List<Measurement<long>>(r.Stats.DropsByReason.Count);
        foreach (var (reason, count) in r.Stats.DropsByReason)
            list.Add(new(count, new KeyValuePair<string, object?>("offload.drop.reason", reason.Name())));
        return list;
    }

    private IEnumerable<Measurement<long>> ObservePorts(bool bytes)
    {
        if (_runtime.ReadMetrics() is not { } r)
            return [];
        var list = new List<Measurement<long>>(r.Ports.Count * 2);
        foreach (var port in r.Ports)
        {
            list.Add(new(bytes ? port.InBytes : port.InFrames, PortTags(port.Name, "receive")));
            list.Add(new(bytes ? port.OutBytes : port.OutFrames, PortTags(port.Name, "transmit")));
        }
        return list;
    }

    private static TagList PortTags(string port, string direction) =>
        new() { { "offload.port", port }, { "network.io.direction", direction } };

    private IEnumerable<Measurement<int>> ObserveOffloaded()
    {
        if (_runtime.ReadMetrics() is not { } r)
            return [];
        var list = new List<Measurement<int>>(2) { new(r.Software.Count, Backend(r.Software.Name)) };
        // A hardware backend that counts its host table's flows too reports only the rest, so no flow is counted twice.
        if (r.Hardware is { } hw)
            list.Add(new(ReferenceEquals(hw.HostTable, r.Software) ? hw.Count - r.Software.Count : hw.Count, Backend(hw.Name)));
        return list;
    }

    private IEnumerable<Measurement<int>> ObserveConntrack()
    {
        if (_runtime.ReadMetrics() is not { } r)
            return [];
        var list = new List<Measurement<int>>(12);
        for (var state = ConnState.SynSent; state <= ConnState.Assured; state++)
            list.Add(new(r.Conntrack.CountInState(state), new KeyValuePair<string, object?>("offload.conntrack.state", state.Name())));
        return list;
    }

    private IEnumerable<Measurement<int>> ObserveHealth()
    {
        if (_runtime.ReadMetrics() is not { } r)
            return [];
        var list = new List<Measurement<int>>(6);
        AddHealth(list, r.Software);
        if (r.Hardware is { } hw)
            AddHealth(list, hw);
        return list;
    }

    private static void AddHealth(List<Measurement<int>> list, FlowBackend backend)
    {
        for (int i = 0; i < HealthNames.Length; i++)
        {
            var tags = new TagList { { "offload.backend", backend.Name }, { "offload.backend.health", HealthNames[i] } };
            list.Add(new((int)backend.Health == i ? 1 : 0, tags));
        }
    }

    private static KeyValuePair<string, object?> Path(string path) => new("offload.path", path);

    private static KeyValuePair<string, object?> Backend(string name) => new("offload.backend", name);

    /// <inheritdoc/>
    public void Dispose()
    {
        // A meter from IMeterFactory belongs to the factory, which disposes it with the container.
        if (_ownsMeter)
            Meter.Dispose();
    }
}
