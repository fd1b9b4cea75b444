using System.Globalization;
using System.Text;
using System.Xml.Linq;

namespace Offload.Rig;

/// <summary>Writes a run as report.md (per scenario: result, reason, flow placements, counters, checks) and junit.xml.</summary>
public static class ReportWriter
{
    /// <summary>Writes both files into <paramref name="directory"/> (created if missing).</summary>
    public static void Write(RigReport report, string directory)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "report.md"), Markdown(report));
        Junit(report).Save(Path.Combine(directory, "junit.xml"));
    }

    /// <summary>The markdown report.</summary>
    public static string Markdown(RigReport report)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"# Offload rig report: backend `{report.Backend}`\n\n");
        sb.Append(CultureInfo.InvariantCulture, $"Policy: {report.Policy}. {report.Passed} passed, {report.Failed} failed, {report.Skipped} skipped.\n\n");
        sb.Append("| Scenario | Claim | Result | Reason |\n|---|---|---|---|\n");
        foreach (var s in report.Scenarios)
            sb.Append(CultureInfo.InvariantCulture, $"| {s.Name} | {s.Claim} | {s.Outcome} | {Cell(s.Reason)} |\n");
        foreach (var s in report.Scenarios)
        {
            sb.Append(CultureInfo.InvariantCulture, $"\n## {s.Name}: {s.Outcome}\n\n{s.Title}.\n\n");
            if (s.Outcome != ScenarioOutcome.Passed)
                sb.Append(CultureInfo.InvariantCulture, $"**Reason:** {s.Reason}\n\n");
            if (s.Flows.Count > 0)
            {
                sb.Append("| Flow | Placement | Why | Counters |\n|---|---|---|---|\n");
                foreach (var f in s.Flows)
                    sb.Append(CultureInfo.InvariantCulture, $"| {Cell(f.Flow)} | {f.Placement} | {Cell(f.Why)} | {Cell(f.Counters)} |\n");
                sb.Append('\n');
            }
            foreach (string c in s.Checks)
                sb.Append("- ").Append(c).Append('\n');
        }
        return sb.ToString();
    }

    private static string Cell(string text) => text.Replace("|", "\\|", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);

    /// <summary>The JUnit XML document (one testsuite, one testcase per scenario).</summary>
    public static XDocument Junit(RigReport report)
    {
        var suite = new XElement("testsuite",
            new XAttribute("name", "offload-rig." + report.Backend),
            new XAttribute("tests", report.Scenarios.Count),
            new XAttribute("failures", report.Failed),
            new XAttribute("errors", 0),
            new XAttribute("skipped", report.Skipped),
            new XAttribute("time", Seconds(report.Scenarios.Aggregate(TimeSpan.Zero, (t, s) => t + s.Elapsed))));
        foreach (var s in report.Scenarios)
        {
            var tc = new XElement("testcase",
                new XAttribute("classname", "Offload.Rig." + report.Backend),
                new XAttribute("name", s.Name),
                new XAttribute("time", Seconds(s.Elapsed)));
            if (s.Outcome == ScenarioOutcome.Failed)
                tc.Add(new XElement("failure", new XAttribute("message", s.Reason), string.Join("\n", s.Checks)));
            else if (s.Outcome == ScenarioOutcome.Skipped)
                tc.Add(new XElement("skipped", new XAttribute("message", s.Reason)));
            var placements = s.Flows.Select(f => $"{f.Flow}: {f.Placement} ({f.Why}) {f.Counters}");
            tc.Add(new XElement("system-out", string.Join("\n", placements.Concat(s.Checks))));
            suite.Add(tc);
        }
        return new XDocument(new XElement("testsuites", suite));
    }

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.000", CultureInfo.InvariantCulture);
}
