using System.Diagnostics;

namespace Offload.Rig;

/// <summary>Finds (building it with tests/native/build.sh when needed) the emulator's generation directory.</summary>
public static class EmulatorBuild
{
    /// <summary>
    /// <c>OFFLOAD_DOCA_NATIVE_DIR</c> (a build directory) when set, else tests/native/build of the repository above the
    /// current directory, built by build.sh (idempotent). The generation is <c>DOCA_EMU_GEN</c> (a or b, default a).
    /// </summary>
    public static string Locate()
    {
        string gen = "gen-" + (Environment.GetEnvironmentVariable("DOCA_EMU_GEN") ?? "a").ToLowerInvariant();
        string? given = Environment.GetEnvironmentVariable("OFFLOAD_DOCA_NATIVE_DIR");
        if (!string.IsNullOrEmpty(given))
            return Path.Combine(Path.GetFullPath(given), gen);
        for (DirectoryInfo? d = new(Environment.CurrentDirectory); d is not null; d = d.Parent)
        {
            string script = Path.Combine(d.FullName, "tests", "native", "build.sh");
            if (!File.Exists(script))
                continue;
            string build = Path.Combine(d.FullName, "tests", "native", "build");
            var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add(script);
            psi.ArgumentList.Add(build);
            using var p = Process.Start(psi) ?? throw new InvalidOperationException("cannot start bash");
            var err = p.StandardError.ReadToEndAsync();
            _ = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0)
                throw new InvalidOperationException($"tests/native/build.sh failed ({p.ExitCode}): {err.Result}");
            return Path.Combine(build, gen);
        }
        throw new InvalidOperationException("no emulator: set --native-dir or OFFLOAD_DOCA_NATIVE_DIR, or run inside the repository");
    }
}
