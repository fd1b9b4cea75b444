using Offload.Cli.Output;
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
