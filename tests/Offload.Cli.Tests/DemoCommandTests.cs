using System.Text.RegularExpressions;

namespace Offload.Cli.Tests;

/// <summary>The <c>offload</c> executable as a user runs it: a real process, real output.</summary>
public class DemoCommandTests
{
    private static (int ExitCode, string Out, string Err) RunOffload(params string[] args)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "offload.dll");
        var start = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(dll);
        foreach (var a in args)
            start.ArgumentList.Add(a);
        using var process = System.Diagnostics.Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit(120_000).Should().BeTrue("the demo finishes in seconds");
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    private static long Number(string text, string pattern) =>
        long.Parse(Regex.Match(text, pattern, RegexOptions.Multiline).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void Demo_Default_ShowsSlowPathInUseTablesAndMostlyFastPath()
    {
        var (code, output, err) = RunOffload("demo", "--connections", "30");
        code.Should().Be(0, err);
        output.Split('\n')[0].Should().StartWith("slow path: ", "the first line says which slow path is in use");
        output.Should().Contain("== flow table:").And.Contain("== conntrack:").And.Contain("== counters ==");
        long fast = Number(output, @"^fast path (\d+), slow path \d+");
        long slow = Number(output, @"^fast path \d+, slow path (\d+)");
        fast.Should().BeGreaterThan(slow, "after the first packet of each connection, packets take the fast path");
        Number(output, @"^connections tracked (\d+)").Should().BeGreaterThan(30);
        output.Should().MatchRegex(@"ESTABLISHED\s+\d+").And.MatchRegex(@"TIME_WAIT\s+\d+");
        output.Should().Contain("encap(vxlan vni=100", "traffic to the VM on host-b is tunnelled");
        output.Should().Contain("drop acl: 3").And.Contain("drop unknown-port: 1").And.Contain("drop truncated-ethernet: 1");
    }

    [Theory]
    [InlineData("demo", "--connections", "0")]
    [InlineData("demo", "--connections", "many")]
    [InlineData("demo", "--bogus")]
    [InlineData("frobnicate")]
    public void BadArguments_ExitNonZeroWithOneClearLine(params string[] args)
    {
        var (code, _, err) = RunOffload(args);
        code.Should().NotBe(0);
        err.Trim().Split('\n').Should().ContainSingle();
        err.Should().StartWith("offload: ");
    }
}
