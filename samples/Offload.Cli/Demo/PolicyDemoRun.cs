using Offload.Cli.Output;
using Offload.Cli.Replay;
using Offload.Datapath;
using Offload.Policy;
using Offload.Switching;

namespace Offload.Cli.Demo;

/// <summary>
/// The demo on the in-process policy slow path: a <see cref="ReplaySession"/> whose clock advances 50 µs per frame
/// unless a burst asks for the same instant, so a run is reproducible.
/// </summary>
internal sealed class PolicyDemoRun : DemoRun, IDisposable
{
    private static readonly TimeSpan FrameGap = TimeSpan.FromTicks(500);
    private readonly ReplaySession _session;
    private DateTimeOffset _time;

    public PolicyDemoRun(ReplaySession session)
    {
        _session = session;
        _time = session.Now;
        session.Sink = this;
    }

    public ReplaySession Session => _session;

    public override SwitchView View => _session.Switch;

    public override TimeProvider Clock => _session.Clock;

    public override CompiledPolicy Policy => _session.Switch.SlowPath.Policy;

    public override void Wait(TimeSpan delta)
    {
        _time += delta;
        _session.Clock.AdvanceTo(_time);
        _session.Switch.Poll();
    }

    public override RevalidationResult ApplyPolicy(PolicySnapshot policy) => _session.Switch.ApplyPolicy(policy);

    protected override void Feed(byte[] frame, long cookie, bool sameInstant)
    {
        if (!sameInstant)
            _time += FrameGap;
        _session.Feed(frame, _time, cookie);
    }

    public void Dispose() => _session.Dispose();
}
