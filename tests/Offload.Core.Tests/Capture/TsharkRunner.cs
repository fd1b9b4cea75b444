using System.Diagnostics;

namespace Offload.Tests.Capture;

/// <summary>Runs the real tshark as an independent decoder of our captures.</summary>
internal static class TsharkRunner
{
    public const string MissingMessage =
        "tshark is not on PATH: install it (Debian: apt-get install tshark; test.sh does this when run as root).";

    private static readonly Lazy<string?> Path_ = new(Locate);

    public static bool IsAvailable => Path_.Value is not null;

    private static string? Locate()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, "tshark");
            if (File.Exists(candidate))
                return candidate;
        }
        return null;
    }

    /// <summary>Runs tshark on <paramref name="pcap"/> and returns its standard output lines.</summary>
    public static List<string> Run(string pcap, params string[] arguments) => RunAsync(pcap, arguments, CancellationToken.None).GetAwaiter().GetResult();

    public static async Task<List<string>> RunAsync(string pcap, IReadOnlyList<string> arguments, CancellationToken cancellation)
    {
        var psi = new ProcessStartInfo(Path_.Value ?? throw new InvalidOperationException(MissingMessage))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("-n");
        psi.ArgumentList.Add("-r");
        psi.ArgumentList.Add(pcap);
        foreach (var a in arguments)
            psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync(cancellation);
        var stderr = process.StandardError.ReadToEndAsync(cancellation);
        await process.WaitForExitAsync(cancellation);
        string output = await stdout;
        await stderr;
        // tshark exits 2 on a file it could only partly read (cut short); what it decoded is still wanted.
        var lines = new List<string>();
        foreach (var line in output.Split('\n'))
        {
            if (line.Length > 0)
                lines.Add(line.TrimEnd('\r'));
        }
        return lines;
    }
}
