using Offload.Backends;
using Offload.Backends.Software;
using Offload.Flows;

namespace Offload.Tests.Datapath;

/// <summary>
/// A hardware backend stand-in: flows live in a dictionary the datapath cannot see (no host table), complete at the
/// next poll, count what the test says the device forwarded, and report aging when the test says so.
/// </summary>
internal sealed class FakeDeviceBackend : FlowBackend
{
    private readonly Queue<FlowCompletion> _completions = new();

    public FakeDeviceBackend(bool supportsAging = true) =>
        Capabilities = new BackendCapabilities(1024, 1024, MatchCapabilities.All, ActionCapabilities.All,
            SupportsConntrack: false, SupportsAging: supportsAging, SupportsCounters: true);

    public Dictionary<FlowKey, DeviceFlow> Flows { get; } = new();

    public override string Name => "fake-device";

    public override BackendCapabilities Capabilities { get; }

    public override int Count => Flows.Count;

    public override SoftwareBackend? HostTable => null;

    public override SubmitStatus TrySubmit(in FlowOperation operation)
    {
        var status = FlowCompletionStatus.Success;
        switch (operation.Kind)
        {
            case FlowOperationKind.Add:
                if (!Flows.TryAdd(operation.Key, new DeviceFlow(operation.IdleTimeout)))
                    status = FlowCompletionStatus.AlreadyExists;
                break;
            case FlowOperationKind.Update:
                if (!Flows.ContainsKey(operation.Key))
                    status = FlowCompletionStatus.NotFound;
                break;
            default:
                if (!Flows.Remove(operation.Key))
                    status = FlowCompletionStatus.NotFound;
                break;
        }
        _completions.Enqueue(new FlowCompletion { Kind = operation.Kind, Key = operation.Key, Cookie = operation.Cookie, Status = status });
        return SubmitStatus.Accepted;
    }

    public override int PollCompletions(Span<FlowCompletion> completions)
    {
        int n = 0;
        while (n < completions.Length && _completions.TryDequeue(out var c))
            completions[n++] = c;
        return n;
    }

    public override bool TryQueryCounters(in FlowKey key, out FlowStats stats)
    {
        if (Flows.TryGetValue(key, out var flow))
        {
            stats = new FlowStats(flow.Packets, flow.Bytes, 0);
            return true;
        }
        stats = default;
        return false;
    }

    /// <summary>The device forwarded <paramref name="packets"/> packets of the flow.</summary>
    public void Forward(in FlowKey key, int packets, int bytesEach = 100)
    {
        var flow = Flows[key];
        flow.Packets += packets;
        flow.Bytes += (long)packets * bytesEach;
    }

    /// <summary>The device reports the flow idle.</summary>
    public void ReportAged(in FlowKey key) =>
        _completions.Enqueue(new FlowCompletion { Kind = FlowOperationKind.Remove, Key = key, Status = FlowCompletionStatus.Aged });

    internal sealed class DeviceFlow(TimeSpan idleTimeout)
    {
        public TimeSpan IdleTimeout { get; } = idleTimeout;
        public long Packets { get; set; }
        public long Bytes { get; set; }
    }
}
