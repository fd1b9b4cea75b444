namespace Offload.Rig;

/// <summary>How a scenario ended.</summary>
public enum ScenarioOutcome
{
    /// <summary>Every check held.</summary>
    Passed,
    /// <summary>A check failed; <see cref="ScenarioResult.Reason"/> says which.</summary>
    Failed,
    /// <summary>Not runnable on this backend; <see cref="ScenarioResult.Reason"/> says why.</summary>
    Skipped,
}

/// <summary>Where one flow ended up and why.</summary>
public sealed record FlowRow(string Flow, string Placement, string Why, string Counters);

/// <summary>One scenario's result.</summary>
public sealed class ScenarioResult(string name, string claim, string title)
{
    /// <summary>Short name (<c>--scenario</c>).</summary>
    public string Name { get; } = name;

    /// <summary>The SPEC claim(s) it carries.</summary>
    public string Claim { get; } = claim;

    /// <summary>What it shows.</summary>
    public string Title { get; } = title;

    /// <summary>Outcome.</summary>
    public ScenarioOutcome Outcome { get; set; } = ScenarioOutcome.Passed;

    /// <summary>Why it failed or was skipped (or a summary when it passed).</summary>
    public string Reason { get; set; } = "";

    /// <summary>Placement of each flow the scenario installed.</summary>
    public List<FlowRow> Flows { get; } = new();

    /// <summary>What was checked, one line each.</summary>
    public List<string> Checks { get; } = new();

    /// <summary>Wall time.</summary>
    public TimeSpan Elapsed { get; set; }

    /// <summary>Records a failed check; the first failure becomes the reason.</summary>
    public void Fail(string why)
    {
        Checks.Add("FAIL " + why);
        if (Outcome != ScenarioOutcome.Failed)
        {
            Outcome = ScenarioOutcome.Failed;
            Reason = why;
        }
    }

    /// <summary>Records a check that held.</summary>
    public void Ok(string what) => Checks.Add("ok   " + what);

    /// <summary>Checks <paramref name="condition"/>.</summary>
    public bool Check(bool condition, string what)
    {
        if (condition)
            Ok(what);
        else
            Fail(what);
        return condition;
    }

    /// <summary>Marks the scenario skipped, unless a check already failed (a failure is never hidden by a skip).</summary>
    public void Skip(string why)
    {
        if (Outcome == ScenarioOutcome.Failed)
        {
            Checks.Add("skip " + why);
            return;
        }
        Outcome = ScenarioOutcome.Skipped;
        Reason = why;
    }
}

/// <summary>A whole run.</summary>
public sealed record RigReport(string Backend, string Policy, IReadOnlyList<ScenarioResult> Scenarios)
{
    /// <summary>Scenarios that failed.</summary>
    public int Failed => Scenarios.Count(s => s.Outcome == ScenarioOutcome.Failed);

    /// <summary>Scenarios skipped.</summary>
    public int Skipped => Scenarios.Count(s => s.Outcome == ScenarioOutcome.Skipped);

    /// <summary>Scenarios that passed.</summary>
    public int Passed => Scenarios.Count(s => s.Outcome == ScenarioOutcome.Passed);
}
