using System.Xml.Linq;
using Offload.Doca.Tests.Flow;
using Offload.Rig;

namespace Offload.Doca.Tests.Rig;

[Collection(EmulatorCollection.Name)]
public sealed class RigTests : IDisposable
{
    private readonly EmulatorFixture _fixture;
    private readonly string _reportDir = Path.Combine(Path.GetTempPath(), "offload-rig-" + Guid.NewGuid().ToString("N"));

    public RigTests(EmulatorFixture fixture)
    {
        _fixture = fixture;
        EmulatorControl.Reset();
    }

    public void Dispose()
    {
        uint violations = EmulatorControl.Violations;
        EmulatorControl.Reset();
        if (Directory.Exists(_reportDir))
            Directory.Delete(_reportDir, recursive: true);
        violations.Should().Be(0, "the rig's backends must use DOCA in order");
    }

    private RigReport Run(RigOptions options, string backend = "emulator")
    {
        options.Backend = backend;
        options.NativeDirectory = backend == "emulator" ? _fixture.Directory : null;
        var report = new RigRunner(options).Run();
        ReportWriter.Write(report, _reportDir);
        return report;
    }

    [Fact]
    public void Run_Emulator_EveryScenarioPassesAndTheReportSaysWhereEachFlowWent()
    {
        var report = Run(new RigOptions());

        report.Scenarios.Select(s => s.Name).Should().Equal(RigRunner.ScenarioNames);
        report.Scenarios.Should().OnlyContain(s => s.Outcome == ScenarioOutcome.Passed,
            string.Join("\n", report.Scenarios.Where(s => s.Outcome != ScenarioOutcome.Passed).Select(s => $"{s.Name}: {s.Reason}")));
        report.Scenarios.Where(s => s.Name != "unsupported-meter").SelectMany(s => s.Checks)
            .Should().Contain(c => c.Contains("byte-identical to the software fast path"));

        var suite = XDocument.Load(Path.Combine(_reportDir, "junit.xml")).Root!.Element("testsuite")!;
        ((int)suite.Attribute("tests")!).Should().Be(RigRunner.ScenarioNames.Count);
        ((int)suite.Attribute("failures")!).Should().Be(0);
        ((int)suite.Attribute("skipped")!).Should().Be(0);
        suite.Elements("testcase").Should().HaveCount(RigRunner.ScenarioNames.Count)
            .And.OnlyContain(tc => tc.Element("failure") == null && tc.Element("skipped") == null);

        string md = File.ReadAllText(Path.Combine(_reportDir, "report.md"));
        md.Should().Contain("| same-network | C4/C8 | Passed |");
        md.Should().Contain("| hardware | installed on the device | device ");
        md.Should().MatchRegex(@"\| software \| Unsupported: doca cannot apply Meter");
        md.Should().MatchRegex(@"\| software \| TableFull");
    }

    [Fact]
    public void Run_ExpectedFrameDiffersFromDeviceOutput_ScenarioFailsWithTheByte()
    {
        // Flip the last byte of what software sent: the device's (correct) frame no longer matches, and the rig must say so.
        var report = Run(new RigOptions
        {
            Scenario = "same-network",
            ExpectedFrameTamper = f => { var c = (byte[])f.Clone(); c[^1] ^= 0xff; return c; },
        });

        var s = report.Scenarios.Should().ContainSingle().Subject;
        s.Outcome.Should().Be(ScenarioOutcome.Failed);
        s.Reason.Should().Contain("device output differs from software at byte 69");
        var suite = XDocument.Load(Path.Combine(_reportDir, "junit.xml")).Root!.Element("testsuite")!;
        ((int)suite.Attribute("failures")!).Should().Be(1);
        suite.Element("testcase")!.Element("failure")!.Attribute("message")!.Value.Should().Contain("differs");
    }

    [Fact]
    public void Run_DeviceCompletesEveryAddWithError_TrafficScenarioFails()
    {
        // Every ADD completing ERROR leaves a supported flow off the device: that is a failure, not a silent software placement.
        var report = Run(new RigOptions { Scenario = "same-network", Faults = emu => emu.SetCompletionErrors(1) });

        var s = report.Scenarios.Should().ContainSingle().Subject;
        s.Outcome.Should().Be(ScenarioOutcome.Failed);
        s.Reason.Should().Contain("could not be installed");
        s.Flows.Should().OnlyContain(f => f.Placement == "software");
    }

    [Fact]
    public void Run_DocaBackendWithoutTrafficPort_InstallsAndReportsPlacementsButSkipsInjection()
    {
        // The binding is already on the emulator, which stands in for a DOCA host here; the doca backend has no injection.
        var report = Run(new RigOptions(), backend: "doca");

        report.Failed.Should().Be(0, string.Join("\n", report.Scenarios.Where(s => s.Outcome == ScenarioOutcome.Failed).Select(s => $"{s.Name}: {s.Reason}")));
        report.Scenarios.Should().OnlyContain(s => s.Outcome == ScenarioOutcome.Skipped);
        var snat = report.Scenarios.Single(s => s.Name == "snat");
        snat.Reason.Should().Contain("traffic port");
        snat.Flows.Should().HaveCount(2).And.OnlyContain(f => f.Placement == "hardware");
        report.Scenarios.Single(s => s.Name == "unsupported-meter").Flows.Should().Contain(f => f.Placement == "software" && f.Why.Contains("Meter"));
    }
}
