using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Offload.Cli.Tests;

/// <summary>
/// <c>offload demo</c> on the real kernel slow path (run as root: it builds the policy's kernel topology in a private
/// namespace), and what it does when it cannot have it: the in-process slow path with the reason on the first line, or,
/// asked for the kernel, one line and exit 1.
/// </summary>
public sealed class DemoKernelTests
{
    private const string NotRoot = "/usr/bin/setpriv";

    private sealed record KernelRun(int Code, string Out, string Err, string Namespace, string NamespacesAfter, string HostLinksAfter);

    // One real run shared by the kernel facts: it takes seconds and every fact reads a different part of its output.
    private static readonly Lazy<KernelRun> Kernel = new(() =>
    {
        var (code, output, err) = OffloadProcess.Run("demo", "--slow-path", "kernel", "--connections", "20");
        string ns = Regex.Match(output, @"^slow path: kernel \(Linux [^:]+: routing, nftables and conntrack in private namespace (offload-demo-\d+)\)").Groups[1].Value;
        string namespaces = OffloadProcess.Tool("ip", "netns", "list").Out;
        string links = OffloadProcess.Tool("ip", "-d", "link", "show").Out;
        return new KernelRun(code, output, err, ns, namespaces, links);
    });

    private static long Number(string text, string pattern)
    {
        var m = Regex.Match(text, pattern, RegexOptions.Multiline);
        m.Success.Should().BeTrue($"the output has a line matching {pattern}");
        return long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    [RootFact]
    public void Demo_KernelSlowPath_FirstLineNamesTheKernelAndItsNamespace()
    {
        var run = Kernel.Value;

        run.Code.Should().Be(0, run.Err);
        run.Out.Split('\n')[0].Should().MatchRegex(@"^slow path: kernel \(Linux \S+: routing, nftables and conntrack in private namespace offload-demo-\d+\)$");
        run.Namespace.Should().NotBeEmpty();
    }

    [RootFact]
    public void Demo_KernelSlowPath_EveryClaimHasItsOutcome()
    {
        string o = Kernel.Value.Out;

        o.Should().Contain("slow deliver vm1 arp-reply | out 02:00:00:01:00:02 > 02:00:00:01:00:01 10.1.0.2 > 10.1.0.1", "ARP is the switch's own");
        o.Should().Contain("not the kernel's: the switch's own responder answers ARP");
        o.Should().MatchRegex(@"vm1 +tcp 10\.1\.0\.1:40000 > 10\.1\.0\.2:80 vni 100 \| slow deliver vm2 .*\| SYN_SENT", "same-host delivery decided by the kernel");
        o.Should().MatchRegex(@"vm1 +udp 10\.1\.0\.1:5353 > 10\.1\.0\.3:53 vni 100 \| slow forward uplink .*\| vxlan vni 100 192\.0\.2\.10 > 192\.0\.2\.11", "VXLAN to host-b");
        o.Should().MatchRegex(@"\| gre vni 200 192\.0\.2\.10 > 192\.0\.2\.11", "GRE to the red network on host-b");
        o.Should().MatchRegex(@"uplink +udp 10\.1\.0\.3:53 > 10\.1\.0\.1:5353 vni 100 \| \w+ deliver vm1", "a reply over the tunnel is decapsulated and delivered");
        o.Should().MatchRegex(@"tcp 10\.1\.0\.1:5000\d > 10\.1\.255\.10:80 vni 100 \| slow \w+ \w+ \| out .* 10\.1\.0\.1:5000\d > 10\.1\.0\.[23]:8080", "VIP DNAT");
        o.Should().MatchRegex(@"\| out .* 10\.1\.255\.10:80 > 10\.1\.0\.1:5000\d", "the backend's reply is un-NATed");
        o.Should().MatchRegex(@"\| out 02:00:00:00:0a:01 > 02:00:00:00:ff:fe 203\.0\.113\.5:\d+ > 198\.51\.100\.7:443", "SNAT by the kernel");
        o.Should().MatchRegex(@"uplink +tcp 198\.51\.100\.7:443 > 203\.0\.113\.5:\d+ vni 0 \| \w+ deliver vm1 \| out .* 198\.51\.100\.7:443 > 10\.1\.0\.1:41000", "the public reply is translated back");
        o.Should().Contain("slow drop acl").And.Contain("fast drop acl").And.Contain("slow drop security-group").And.Contain("fast drop qos");
        o.Should().MatchRegex(@"revalidated \d+ connections: \d+ updated, 1 removed", "the policy change removes the connection it now denies");
        o.Should().Contain("the kernel's conntrack entry of vm4:45000 > vm5:5201 was deleted by the revalidation");
        o.Should().MatchRegex(@"vm4 +tcp 10\.2\.0\.4:45000 > 10\.2\.0\.5:5201 vni 200 \| slow drop acl", "after revalidation the kernel's new ruleset denies it");
        o.Should().Contain("drop truncated-ethernet: 1").And.Contain("drop bad-ipv4-header: 1").And.Contain("drop bad-vxlan-header: 1")
            .And.Contain("drop unknown-port: 1").And.Contain("drop spoofed-source: 1").And.Contain("drop security-group: 2");
        o.Should().NotContain("slow-path-timeout").And.NotContain("slow-path-error");
    }

    [RootFact]
    public void Demo_KernelSlowPath_FirstPacketsMovedKernelCountersLaterOnesDidNot()
    {
        string o = Kernel.Value.Out;

        long injected = Number(o, @"^packets written into the kernel (\d+):");
        long forwarded = Number(o, @"^packets written into the kernel \d+: forwarded (\d+)");
        injected.Should().BeGreaterThan(50, "every connection's first packets went through the kernel");
        Number(o, @"verified byte for byte (\d+), mismatches").Should().Be(forwarded, "the fast path's frame is the kernel's, byte for byte");
        Number(o, @"mismatches (\d+)\)").Should().Be(0);
        Number(o, @"^   dispatch:in +packets +(\d+)").Should().BeGreaterThan(20, "new connections met the ruleset");
        Number(o, @"^   acl:0 +packets +(\d+)").Should().BeGreaterThan(0, "the ACL drop is the kernel's rule");
        o.Should().Contain("vm1:40000 > vm2:80: after the handshake went through the kernel, its 8 data segments moved no nft rule counter; " +
                           "the kernel's conntrack entry is ESTABLISHED");
        Number(o, @"^== kernel conntrack: (\d+) entries").Should().BeGreaterThan(20);
        Number(o, @"^fast path (\d+), slow path").Should().BeGreaterThan(Number(o, @"^fast path \d+, slow path (\d+)"));
        Regex.Matches(o, @"^ +kernel: \d+ packets written in: \d+ forwarded .*; \d+ fast-path frames never reached it$", RegexOptions.Multiline)
            .Should().HaveCount(10, "every claim's scenario says what the kernel saw of it");
        Regex.Matches(o, @"^ +nft rule counters moved: ", RegexOptions.Multiline).Should().HaveCount(10);
    }

    [RootFact]
    public void Demo_KernelSlowPath_LeavesNoNamespaceOrLinkBehind()
    {
        var run = Kernel.Value;

        run.Code.Should().Be(0, run.Err);
        run.Out.Should().EndWith($"cleanup:   namespace {run.Namespace} removed with its devices, routes and nftables table\n");
        run.NamespacesAfter.Should().NotContain(run.Namespace);
        File.Exists("/var/run/netns/" + run.Namespace).Should().BeFalse();
        run.HostLinksAfter.Should().NotContain("offload:demo", "the demo's devices lived only in its namespace");
    }

    // SIGTERM, as a service manager stops it; Ctrl+C (SIGINT) takes the same handler and exits 130.
    [RootFact]
    public void Demo_KernelTerminated_RemovesItsNamespaceAndExits143()
    {
        var start = OffloadProcess.StartInfo("demo", "--slow-path", "kernel", "--connections", "100000");
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        string ns = "offload-demo-" + process.Id.ToString(CultureInfo.InvariantCulture);
        try
        {
            var waited = Stopwatch.StartNew();
            while (!File.Exists("/var/run/netns/" + ns) && !process.HasExited && waited.Elapsed < TimeSpan.FromSeconds(60))
                Thread.Sleep(20);
            File.Exists("/var/run/netns/" + ns).Should().BeTrue("the demo made its namespace");

            OffloadProcess.Tool("/bin/kill", "-TERM", process.Id.ToString(CultureInfo.InvariantCulture)).ExitCode.Should().Be(0);

            process.WaitForExit(60_000).Should().BeTrue("SIGTERM ends the demo");
            process.ExitCode.Should().Be(143, stderr.Result);
            stderr.Result.Trim().Should().Be($"offload: interrupted; namespace {ns} removed");
            File.Exists("/var/run/netns/" + ns).Should().BeFalse();
            _ = stdout.Result;
        }
        finally
        {
            if (!process.HasExited)
                process.Kill(entireProcessTree: true);
        }
    }

    [RootFact]
    public void Demo_NotRoot_InProcessSlowPathWithTheReasonOnTheFirstLine()
    {
        if (!File.Exists(NotRoot))
            return;

        var (code, output, err) = AsNobody("demo", "--connections", "5");

        code.Should().Be(0, err);
        output.Split('\n')[0].Should().Be("slow path: in-process policy (kernel slow path needs root)");
        output.Should().Contain("== counters ==").And.Contain("slow drop acl");
        output.Should().NotContain("kernel:", "nothing of the kernel path ran");
    }

    [RootFact]
    public void Demo_KernelSlowPathNotRoot_OneLineErrorExitOne()
    {
        if (!File.Exists(NotRoot))
            return;

        var (code, output, err) = AsNobody("demo", "--slow-path", "kernel");

        code.Should().Be(1, err);
        output.Should().BeEmpty();
        err.Trim().Split('\n').Should().ContainSingle().Which.Should().Be("offload: the demo cannot use the kernel slow path: kernel slow path needs root");
    }

    private static (int ExitCode, string Out, string Err) AsNobody(params string[] args)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "offload.dll");
        return OffloadProcess.Tool(NotRoot, ["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
            "env", "HOME=/tmp", "DOTNET_CLI_HOME=/tmp", "dotnet", dll, .. args]);
    }
}
