using System.Diagnostics;

namespace Offload.Cli.Tests;

/// <summary>Runs the real <c>offload</c> executable as a user would: a process, its exit code, stdout and stderr.</summary>
internal static class OffloadProcess
{
    /// <summary>
    /// How to start <c>offload</c> with <paramref name="args"/>, every signal at its default handling: a test run started
    /// from a background job or under nohup inherits SIGINT or SIGHUP ignored, and .NET keeps an inherited ignore, so the
    /// signals the tests send would never arrive. <c>env</c> resets them and execs, so the process id is offload's.
    /// </summary>
    public static ProcessStartInfo StartInfo(params string[] args)
    {
        var start = new ProcessStartInfo("env") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in (string[])["--default-signal", "dotnet", Path.Combine(AppContext.BaseDirectory, "offload.dll"), .. args])
            start.ArgumentList.Add(a);
        return start;
    }

    public static (int ExitCode, string Out, string Err) Run(params string[] args)
    {
        var start = StartInfo(args);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit(120_000).Should().BeTrue("offload finishes in seconds");
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Runs a tool (tshark) and returns its exit code and output.</summary>
    public static (int ExitCode, string Out, string Err) Tool(string path, params string[] args)
    {
        var start = new ProcessStartInfo(path) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit(60_000).Should().BeTrue($"{path} finishes");
        return (process.ExitCode, stdout.Result, stderr.Result);
    }
}

/// <summary>A temporary folder removed with the test.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "offload-cli-" + Guid.NewGuid().ToString("N"));

    public string File(string name, string? content = null)
    {
        string path = System.IO.Path.Combine(Path, name);
        if (content is not null)
            System.IO.File.WriteAllText(path, content);
        return path;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is not worth failing a test for.
        }
    }
}
