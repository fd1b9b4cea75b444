using Offload.Rig;

// Exit codes: 0 all ran scenarios passed, 1 a scenario failed, 2 bad arguments or setup, 3 nothing could run.
// offload-rig --backend emulator|doca [--policy P.yaml] [--report-dir DIR] [--scenario NAME] [--native-dir DIR]
var options = new RigOptions();
string reportDir = "rig-report";
try
{
    for (int i = 0; i < args.Length; i++)
    {
        string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
        switch (args[i])
        {
            case "--backend": options.Backend = Value(); break;
            case "--policy":
                string path = Value();
                options.PolicyYaml = File.ReadAllText(path);
                options.PolicyName = path;
                break;
            case "--report-dir": reportDir = Value(); break;
            case "--scenario": options.Scenario = Value(); break;
            case "--native-dir": options.NativeDirectory = Value(); break;
            case "-h" or "--help":
                Console.WriteLine("usage: offload-rig --backend emulator|doca [--policy P.yaml] [--report-dir DIR] [--scenario NAME] [--native-dir DIR]");
                Console.WriteLine("scenarios: " + string.Join(", ", RigRunner.ScenarioNames));
                return 0;
            default: throw new ArgumentException($"unknown argument {args[i]}");
        }
    }
    if (options.Backend == "emulator" && options.NativeDirectory is null)
        options.NativeDirectory = EmulatorBuild.Locate();
    var report = new RigRunner(options).Run();
    ReportWriter.Write(report, reportDir);
    foreach (var s in report.Scenarios)
        Console.WriteLine($"{s.Outcome,-8} {s.Name,-18} {s.Reason}");
    Console.WriteLine($"{report.Passed} passed, {report.Failed} failed, {report.Skipped} skipped; report in {Path.GetFullPath(reportDir)}");
    // 3: nothing failed but nothing ran either (no DOCA here), which CI must not read as a pass.
    return report.Failed != 0 ? 1 : report.Passed == 0 ? 3 : 0;
}
catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or IOException or Offload.Doca.DocaException)
{
    Console.Error.WriteLine("offload-rig: " + ex.Message);
    return 2;
}
