using System.Diagnostics;

namespace Offload.Doca.Tests.Emulator;

/// <summary>
/// Builds tests/native once per test process (build.sh is idempotent and locks, so a build already
/// done by the test script costs one hash check) and says where the outputs are.
/// <c>OFFLOAD_DOCA_NATIVE_DIR</c> points at a build directory made elsewhere and skips the build.
/// </summary>
internal static class NativeBuild
{
    private static readonly Lazy<NativeBuildResult> s_result = new(Build, LazyThreadSafetyMode.ExecutionAndPublication);

    public static NativeBuildResult Result => s_result.Value;

    /// <summary>The generations every generation-dependent test runs in.</summary>
    public static readonly string[] Generations = ["a", "b"];

    public static string RepositoryRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "tests", "native", "build.sh")))
                return dir.FullName;
        }
        throw new InvalidOperationException("tests/native/build.sh not found above " + AppContext.BaseDirectory);
    }

    private static NativeBuildResult Build()
    {
        string? given = Environment.GetEnvironmentVariable("OFFLOAD_DOCA_NATIVE_DIR");
        if (!string.IsNullOrEmpty(given))
            return new NativeBuildResult(Path.GetFullPath(given), Error: null);

        string root = RepositoryRoot();
        string dir = Path.Combine(root, "tests", "native", "build");
        (int exit, string output) = Run("bash", [Path.Combine(root, "tests", "native", "build.sh"), dir], environment: null);
        return exit == 0
            ? new NativeBuildResult(dir, Error: null)
            : new NativeBuildResult(dir, $"tests/native/build.sh failed with exit code {exit}:\n{output}");
    }

    public static (int ExitCode, string Output) Run(string file, IEnumerable<string> args, IDictionary<string, string>? environment)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in args)
            psi.ArgumentList.Add(a);
        if (environment is not null)
        {
            foreach (KeyValuePair<string, string> kv in environment)
                psi.Environment[kv.Key] = kv.Value;
        }
        using Process p = Process.Start(psi) ?? throw new InvalidOperationException("could not start " + file);
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            p.Kill(entireProcessTree: true);
            return (-1, "timed out after 5 minutes\n" + stdout.Result + stderr.Result);
        }
        return (p.ExitCode, stdout.Result + stderr.Result);
    }
}

/// <summary>Where the native build put its outputs, or why it failed.</summary>
internal sealed record NativeBuildResult(string Directory, string? Error)
{
    public string GenerationDirectory(string gen) => Path.Combine(Directory, "gen-" + gen);

    public string Runner => Path.Combine(Directory, "emu_tests");

    public string Shim => Path.Combine(Directory, "libofl_doca_shim.so");

    /// <summary>Throws with the build log when the build failed, so every dependent test says why.</summary>
    public NativeBuildResult EnsureOk()
    {
        if (Error is not null)
            throw new InvalidOperationException(Error);
        return this;
    }
}
