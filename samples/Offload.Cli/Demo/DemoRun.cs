using Offload.Cli.Output;
using Offload.Cli.Replay;
using Offload.Datapath;

namespace Offload.Cli.Demo;

/// <summary>One claim the demo exercises: its frames' fast/slow tally and a few results worth showing.</summary>
internal sealed class DemoScenario(string claim, string title)
{
    public string Claim { get; } = claim;
    public string Title { get; } = title;
    public int Frames { get; private set; }
    public int Fast { get; private set; }
    public int Dropped { get; private set; }
    public List<TraceEntry> Examples { get; } = new();
    public List<string> Notes { get; } = new();

    public void Count(TraceEntry e)
    {
        Frames++;
        if (e.Path == PacketPath.Fast)
            Fast++;
        if (e.Verdict == "drop")
            Dropped++;
    }

    /// <summary>Keeps <paramref name="e"/> to print under the scenario; returns it.</summary>
    public TraceEntry Show(TraceEntry e)
    {
        Examples.Add(e);
        return e;
    }
}

/// <summary>
/// Feeds the demo's generated frames to a <see cref="ReplaySession"/> one at a time, on a clock that advances 50 µs per
/// frame unless a burst asks for the same instant, and records each frame's result for the current scenario.
/// </summary>
internal sealed class DemoRun : IFrameSink
{
    private static readonly TimeSpan FrameGap = TimeSpan.FromTicks(500);

    private readonly ReplaySession _session;
    private TraceEntry? _last;
    private long _next;
    private DateTimeOffset _time;
    private DemoScenario? _current;

    public DemoRun(ReplaySession session)
    {
        _session = session;
        _time = session.Now;
        session.Sink = this;
    }

    public ReplaySession Session => _session;

    public OutputCounter Counter { get; } = new();

    public List<DemoScenario> Scenarios { get; } = new();

    public DemoScenario Begin(string claim, string title)
    {
        _current = new DemoScenario(claim, title);
        Scenarios.Add(_current);
        return _current;
    }

    /// <summary>Sends one frame from the port the capture rule gives it and returns its result.</summary>
    public TraceEntry Send(byte[] frame, bool sameInstant = false)
    {
        if (!sameInstant)
            _time += FrameGap;
        _last = null;
        _session.Feed(frame, _time, _next++);
        var e = _last ?? throw new InvalidOperationException("The datapath produced no result for a frame.");
        _current?.Count(e);
        return e;
    }

    /// <summary>Lets time pass (token buckets refill, timers run).</summary>
    public void Wait(TimeSpan delta)
    {
        _time += delta;
        _session.Clock.AdvanceTo(_time);
        _session.Switch.Poll();
    }

    public void OnFrame(in FrameResult result, ReadOnlySpan<byte> frame)
    {
        Counter.OnFrame(in result, frame);
        _last = TraceEntry.From(_session.Switch, in result, frame, _session.Now, _session.CurrentLength);
    }
}
