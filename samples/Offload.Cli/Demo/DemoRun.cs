using Offload.Cli.Output;
using Offload.Datapath;
using Offload.Packets;
using Offload.Policy;
using Offload.Switching;

namespace Offload.Cli.Demo;

/// <summary>
/// What the demo's traffic runs on: a switch fed one generated frame at a time, each frame's result recorded for the
/// current scenario. <see cref="PolicyDemoRun"/> is the in-process policy slow path on a replay clock,
/// <see cref="KernelDemoRun"/> the Linux kernel in a private namespace on real time.
/// </summary>
internal abstract class DemoRun : IFrameSink
{
    private readonly Dictionary<long, TraceEntry> _results = new();
    private long _next;
    private DemoScenario? _current;

    public OutputCounter Counter { get; } = new();

    public List<DemoScenario> Scenarios { get; } = new();

    /// <summary>The tables' view of the switch.</summary>
    public abstract SwitchView View { get; }

    /// <summary>The switch's clock.</summary>
    public abstract TimeProvider Clock { get; }

    /// <summary>The policy in force, compiled (addresses, ports).</summary>
    public abstract CompiledPolicy Policy { get; }

    /// <summary>Length of the frame being fed (what the trace lines report as its length).</summary>
    protected int CurrentLength { get; private set; }

    public DemoScenario Begin(string claim, string title)
    {
        if (_current is not null)
            OnScenarioEnd(_current);
        _current = new DemoScenario(claim, title);
        Scenarios.Add(_current);
        OnScenarioStart(_current);
        return _current;
    }

    /// <summary>Closes the last scenario.</summary>
    public void Finish()
    {
        if (_current is not null)
            OnScenarioEnd(_current);
        _current = null;
    }

    /// <summary>Sends one frame from the port the capture rule gives it and returns its result.</summary>
    public TraceEntry Send(byte[] frame, bool sameInstant = false)
    {
        long cookie = _next++;
        CurrentLength = frame.Length;
        Feed(frame, cookie, sameInstant);
        if (!_results.Remove(cookie, out var e))
            throw new InvalidOperationException("The datapath produced no result for a frame.");
        _current?.Count(e);
        return e;
    }

    /// <summary>Lets time pass (token buckets refill, timers run).</summary>
    public abstract void Wait(TimeSpan delta);

    /// <summary>Puts <paramref name="policy"/> in force and revalidates the offloaded connections (S4).</summary>
    public abstract RevalidationResult ApplyPolicy(PolicySnapshot policy);

    /// <summary>Processes <paramref name="frame"/> with <paramref name="cookie"/> and returns once its result reached <see cref="OnFrame"/>.</summary>
    protected abstract void Feed(byte[] frame, long cookie, bool sameInstant);

    /// <summary>Whether the result of <paramref name="cookie"/> has arrived.</summary>
    protected bool HasResult(long cookie) => _results.ContainsKey(cookie);

    protected virtual void OnScenarioStart(DemoScenario scenario)
    {
    }

    protected virtual void OnScenarioEnd(DemoScenario scenario)
    {
    }

    /// <summary>
    /// The ingress port of a generated frame by the rule <c>offload trace</c> uses for captures (SPEC "Policy"): a local
    /// port's source MAC, else the uplink for tunnel frames to this host's underlay or frames to a SNAT public address.
    /// </summary>
    protected ushort IngressPortOf(ReadOnlySpan<byte> frame)
    {
        var policy = Policy;
        if (frame.Length >= 12)
        {
            var src = MacAddress.Read(frame.Slice(6));
            foreach (var port in policy.Ports)
            {
                if (port.IsLocal && port.Mac == src)
                    return port.Number;
            }
        }
        PacketParser.Parse(frame, out var p);
        if (!p.IsIp)
            return 0;
        bool toUnderlay = p.DstIp == policy.HostUnderlay.Ip && (!p.IsValid || p.Tunnel != TunnelKind.None);
        return toUnderlay || policy.SnatPublicIps.Contains(p.DstIp) ? Switching.PortRegistry.Uplink : (ushort)0;
    }

    public void OnFrame(in FrameResult result, ReadOnlySpan<byte> frame)
    {
        Counter.OnFrame(in result, frame);
        _results[result.Cookie] = TraceEntry.From(View, Policy.HostUnderlay.Ip, in result, frame, Clock.GetUtcNow(), CurrentLength);
    }
}
