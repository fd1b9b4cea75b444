using System.Diagnostics;

namespace Offload.Kernel.Tests.Netns;

/// <summary>Runs the command-line tools the integration tests use as their oracle (ip, conntrack, nft, ping).</summary>
public static class Tool
{
    /// <summary>Runs a program; returns standard output; throws with standard error on a non-zero exit.</summary>
    public static string Run(string program, IReadOnlyList<string> arguments)
    {
        (int code, string output, string error) = Execute(program, arguments);
        if (code != 0)
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} exited {code}: {error.Trim()}");
        return output;
    }

    /// <summary>Runs a program and ignores its failure (clean-up).</summary>
    public static void TryRun(string program, IReadOnlyList<string> arguments)
    {
        try
        {
            Execute(program, arguments);
        }
        catch (System.ComponentModel.Win32Exception)
        {
        }
    }

    private static (int Code, string Output, string Error) Execute(string program, IReadOnlyList<string> arguments)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in arguments)
            start.ArgumentList.Add(a);
        using Process process = Process.Start(start)!;
        Task<string> error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(30_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', arguments)} did not finish in 30 s");
        }
        return (process.ExitCode, output, error.Result);
    }
}
