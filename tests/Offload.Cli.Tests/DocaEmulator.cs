using System.Diagnostics;

namespace Offload.Cli.Tests;

/// <summary>
/// The DOCA Flow emulator library for <c>offload run --backend doca</c>, found as tests/Offload.Doca.Tests finds it:
/// <c>OFFLOAD_DOCA_NATIVE_DIR</c> (the emulator build folder) when set, else built by tests/native/build.sh into
/// tests/native/build (idempotent, serialised by the script's lock). Generation A.
/// </summary>
internal static class DocaEmulator
{
    private static readonly Lazy<(string? Directory, string? Error)> s_library = new(Locate, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The folder holding libdoca_flow.so.2 of the emulator; null when it could not be built.</summary>
    public static string? Directory => s_library.Value.Directory;

    /// <summary>Why there is no emulator library; null when there is one.</summary>
    public static string? Error => s_library.Value.Error;

    private static (string?, string?) Locate()
    {
        string? root = null;
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null && root is null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "tests", "native", "build.sh")))
                root = dir.FullName;
        }
        string? given = Environment.GetEnvironmentVariable("OFFLOAD_DOCA_NATIVE_DIR");
        string build;
        if (!string.IsNullOrEmpty(given))
        {
            build = Path.GetFullPath(given);
        }
        else if (root is null)
        {
            return (null, "the DOCA emulator was not found: tests/native/build.sh is not above " + AppContext.BaseDirectory);
        }
        else
        {
            build = Path.Combine(root, "tests", "native", "build");
            var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
            start.ArgumentList.Add(Path.Combine(root, "tests", "native", "build.sh"));
            start.ArgumentList.Add(build);
            try
            {
                using var process = Process.Start(start)!;
                var output = process.StandardOutput.ReadToEndAsync();
                string errors = process.StandardError.ReadToEnd();
                if (!process.WaitForExit(300_000) || process.ExitCode != 0)
                    return (null, $"the DOCA emulator could not be built (tests/native/build.sh): {errors}{output.Result}".Trim());
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                return (null, "the DOCA emulator could not be built: " + e.Message);
            }
        }
        string gen = Path.Combine(build, "gen-a");
        return File.Exists(Path.Combine(gen, "libdoca_flow.so.2"))
            ? (gen, null)
            : (null, $"the DOCA emulator library is not in {gen}");
    }
}

/// <summary>A fact that needs the DOCA emulator library; skipped with the reason it could not be found or built.</summary>
public sealed class DocaEmulatorFactAttribute : FactAttribute
{
    public DocaEmulatorFactAttribute()
    {
        if (!OperatingSystem.IsLinux())
            Skip = "the DOCA emulator is a Linux library";
        else if (DocaEmulator.Error is { } error)
            Skip = error;
    }
}
