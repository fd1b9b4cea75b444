using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Offload.Benchmarks.Workloads;
using Offload.Doca;

namespace Offload.Benchmarks.Quick;

/// <summary>
/// PERF.md P7: entry add/remove through the C# binding into the DOCA Flow emulator (<see cref="DocaEntryWorkload"/>, in
/// this process) against tests/native/perf/p7_entries.c making the same shim calls into the same emulator build (a
/// child process that prints its rate). Same entry count, queue depth and batching; alternating rounds, best of each.
/// The emulator generation comes from <c>DOCA_EMU_GEN</c> (A by default), as in the tests.
/// </summary>
internal static partial class P7Phase
{
    private const int Entries = 65_536;
    private const int Rounds = 5;
    private static readonly TimeSpan ChildTimeout = TimeSpan.FromSeconds(60);

    public static void Run(TextWriter log, List<QuickResult> results)
    {
        string gen = (Environment.GetEnvironmentVariable("DOCA_EMU_GEN") ?? "a").ToLowerInvariant();
        var build = Stopwatch.StartNew();
        string? why = BuildNative(out string buildDir);
        if (why is null && gen is not ("a" or "b"))
            why = $"DOCA_EMU_GEN={gen} is neither A nor B";
        string genDir = Path.Combine(buildDir, "gen-" + gen);
        if (why is null)
        {
            // Native libraries load once per process: the first probe decides, so point it at the emulator now.
            AppContext.SetData(DocaLibrary.NativeDirectorySwitch, genDir);
            why = DocaLibrary.NotSupportedReason;
        }
        if (why is not null)
        {
            log.WriteLine($"P7 skipped: {why}");
            results.Add(new("P7", 0, 0, "Mops/s", 0, 0.8, null, "skipped: " + why));
            return;
        }
        double buildSeconds = build.Elapsed.TotalSeconds;

        using var binding = new DocaEntryWorkload(Entries);
        binding.Round(); // JIT and the emulator's entry slots, as the C program's unmeasured first round
        double subject = 0, baseline = 0;
        string? childError = null;
        for (int r = 0; r < Rounds && childError is null; r++)
        {
            childError = RunC(buildDir, genDir, out double c);
            baseline = Math.Max(baseline, c);
            subject = Math.Max(subject, binding.Round());
        }
        if (childError is not null)
        {
            log.WriteLine($"P7 C baseline failed: {childError}");
            results.Add(new("P7", subject / 1e6, 0, "Mops/s", 0, 0.8, null, "C baseline failed: " + childError));
            return;
        }
        double ratio = subject / baseline;
        string load = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "?";
        log.WriteLine($"P7 DOCA entries (emulator gen {gen.ToUpperInvariant()}, {Entries} add+remove): binding {subject / 1e6:F3} M ops/s, "
            + $"C {baseline / 1e6:F3} M ops/s, ratio {ratio:F2}x (best of {Rounds} alternating rounds; native build check {buildSeconds:F1} s; load {load})");
        results.Add(new("P7", subject / 1e6, baseline / 1e6, "Mops/s", ratio, 0.8, ratio >= 0.8,
            $"{Entries} entries added then removed per round, one 5-tuple+VNI pipe, queue depth {DocaEntryWorkload.QueueDepth}, WAIT_FOR_BATCH with a push every "
            + $"{DocaEntryWorkload.Batch}, completions drained on AGAIN; subject: DocaPipe.TryAdd/TryRemove + DocaFlow.ProcessCompletions in this process; "
            + $"baseline: tests/native/perf/p7_entries.c (ofl_entry_add/remove + doca_flow_entries_process) as a child process, one unmeasured round "
            + $"then one measured per run; emulator generation {gen.ToUpperInvariant()}; best of {Rounds} alternating rounds; load at the end {load}"));
    }

    /// <summary>Runs tests/native/build.sh (idempotent); returns why it could not, or null.</summary>
    private static string? BuildNative(out string buildDir)
    {
        buildDir = "";
        string? root = RepositoryRoot();
        if (root is null)
            return "tests/native/build.sh not found above " + AppContext.BaseDirectory;
        buildDir = Path.Combine(root, "tests", "native", "build");
        string cc = Environment.GetEnvironmentVariable("CC") is { Length: > 0 } given ? given : "gcc";
        if (!OnPath(cc))
            return $"{cc} not found on PATH (the emulator and the C baseline are built with it)";
        if (!OnPath("bash"))
            return "bash not found on PATH";
        var (exit, output) = Run("bash", [Path.Combine(root, "tests", "native", "build.sh"), buildDir], null);
        if (exit != 0)
            return $"tests/native/build.sh failed ({exit}): {Tail(output)}";
        return File.Exists(Path.Combine(buildDir, "p7_entries")) ? null : "tests/native/build.sh did not produce p7_entries";
    }

    /// <summary>One C run (one unmeasured round, one measured); returns why it failed, or null.</summary>
    private static string? RunC(string buildDir, string genDir, out double rate)
    {
        rate = 0;
        var env = new Dictionary<string, string> { ["LD_LIBRARY_PATH"] = genDir + ":" + buildDir };
        var (exit, output) = Run(Path.Combine(buildDir, "p7_entries"),
            [Entries.ToString(CultureInfo.InvariantCulture), "1", "1"], env);
        if (exit != 0)
            return $"exit {exit}: {Tail(output)}";
        Match m = RateLine().Match(output);
        if (!m.Success)
            return "no rate in its output: " + Tail(output);
        rate = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        return null;
    }

    [GeneratedRegex(@"best (\d+) ops/s")]
    private static partial Regex RateLine();

    private static string? RepositoryRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "tests", "native", "build.sh")))
                return dir.FullName;
        }
        return null;
    }

    private static bool OnPath(string file)
    {
        if (file.Contains('/', StringComparison.Ordinal))
            return File.Exists(file);
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            if (File.Exists(Path.Combine(dir, file)))
                return true;
        }
        return false;
    }

    private static (int ExitCode, string Output) Run(string file, IEnumerable<string> args, IDictionary<string, string>? environment)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args)
            psi.ArgumentList.Add(a);
        if (environment is not null)
        {
            foreach (var kv in environment)
                psi.Environment[kv.Key] = kv.Value;
        }
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start " + file);
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(ChildTimeout))
        {
            p.Kill(entireProcessTree: true);
            return (-1, $"timed out after {ChildTimeout.TotalSeconds} s");
        }
        return (p.ExitCode, stdout.Result + stderr.Result);
    }

    private static string Tail(string s)
    {
        s = s.Trim().ReplaceLineEndings(" | ");
        return s.Length <= 300 ? s : "…" + s[^300..];
    }
}
