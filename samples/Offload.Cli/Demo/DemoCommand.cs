using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using Offload.Cli.Commands;
using Offload.Cli.Replay;
using Offload.Policy;
using Offload.Switching;

namespace Offload.Cli.Demo;

/// <summary>
/// <c>offload demo</c>: the bundled policy (<c>demo-policy.yaml</c>) and generated traffic through a virtual switch — ARP
/// answered, same-host delivery, VXLAN and GRE to another host and back, a load-balanced VIP, SNAT to the public network,
/// ACL and security-group drops, a QoS burst, a policy change with revalidation, and malformed frames — then what
/// happened per claim, the flow table, conntrack and the counters. The slow path is the Linux kernel in a private network
/// namespace when this process can use it (root, namespaces, nftables), else the in-process policy slow path; the first
/// line says which, and why not the kernel.
/// </summary>
internal static class DemoCommand
{
    private const string PolicyResource = "Offload.Cli.Demo.demo-policy.yaml";

    public static Command Create()
    {
        var connections = new Option<int>("--connections")
        {
            Description = "TCP connections to open between the local VMs vm1 and vm2 (1-100000).",
            DefaultValueFactory = _ => 50,
        };
        connections.Validators.Add(r =>
        {
            // A token that is not a number is reported by the parser itself; only the range is checked here.
            if (r.Tokens.Count == 1 && int.TryParse(r.Tokens[0].Value, out int v) && v is < 1 or > 100_000)
                r.AddError("--connections must be between 1 and 100000.");
        });
        var rows = new Option<int>("--rows")
        {
            Description = "Rows of each table to print (0 = all).",
            DefaultValueFactory = _ => 12,
        };
        var slowPath = new Option<string>("--slow-path")
        {
            Description = "Slow path for first packets: kernel (the Linux kernel's routing, nftables and conntrack in a private " +
                "network namespace the demo creates and removes; needs root and libnftables), policy (in-process), or auto " +
                "(kernel when possible, else policy).",
            DefaultValueFactory = _ => "auto",
        };
        slowPath.AcceptOnlyFromAmong("auto", "kernel", "policy");
        var command = new Command("demo",
            "Run generated traffic for a bundled policy through the virtual switch (software fast path; the kernel slow path " +
            "when run as root with nftables, else the in-process policy slow path) and print what happened per claim, the flow " +
            "table, the conntrack table and the counters.");
        command.Options.Add(connections);
        command.Options.Add(rows);
        command.Options.Add(slowPath);
        command.SetAction(parse =>
        {
            using var stdout = Stdout.Open();
            return Run(parse.GetValue(connections), parse.GetValue(rows), parse.GetValue(slowPath) ?? "auto", stdout);
        });
        return command;
    }

    /// <summary>The bundled policy's YAML text.</summary>
    public static string PolicyYaml()
    {
        using var stream = typeof(DemoCommand).Assembly.GetManifestResourceStream(PolicyResource)
            ?? throw new InvalidOperationException($"Embedded resource {PolicyResource} is missing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    public static int Run(int connectionCount, int rows, string slowPath, TextWriter output)
    {
        string yaml = PolicyYaml();
        var loaded = PolicyLoader.Load(yaml);
        if (loaded.Snapshot is null)
            throw PolicyFile.Invalid("the bundled demo policy", loaded.Errors);
        var policy = loaded.Snapshot;

        string why;
        if (slowPath == "policy")
        {
            why = "--slow-path policy";
        }
        else
        {
            string? missing = DemoKernelSupport.NotSupportedReason();
            if (missing is null)
            {
                if (TryRunKernel(policy, yaml, connectionCount, rows, output, out string? failed))
                    return 0;
                missing = failed!;
            }
            if (slowPath == "kernel")
                throw new CliException($"the demo cannot use the kernel slow path: {missing}");
            why = missing;
        }

        var options = new VirtualSwitchOptions { Backend = { Capacity = 1 << 16 } };
        using var run = new PolicyDemoRun(new ReplaySession(policy, new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero), options));
        var vswitch = run.Session.Switch;
        output.WriteLine($"slow path: in-process policy ({why})");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"backend:   {vswitch.Backend.Name} (capacity {vswitch.Backend.Capabilities.MaxFlows:N0} flows)"));
        output.WriteLine($"policy:    {DemoReport.Describe(policy)}");
        output.WriteLine("time:      a replay clock, 50 µs per frame");
        DemoReport.Traffic(run, yaml, connectionCount);
        DemoReport.Write(output, run, rows);
        return 0;
    }

    // False, with the reason, when the kernel switch could not be built (nothing is left behind then). Once it is built
    // the demo runs on it to the end; an interruption (Ctrl+C, SIGTERM) or a failure removes the namespace first.
    private static bool TryRunKernel(PolicySnapshot policy, string yaml, int connectionCount, int rows, TextWriter output,
        out string? failed)
    {
        failed = null;
        using var interrupted = new CancellationTokenSource();
        int signalExitCode = 130; // 128 + the signal's number, as a shell reports a process the signal ended
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Interrupt);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Interrupt);
        KernelDemoRun run;
        try
        {
            run = KernelDemoRun.Start(policy, interrupted.Token);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            failed = "kernel slow path could not start: " + OneLine(ex.Message);
            return false;
        }
        string name = run.NamespaceName;
        try
        {
            string release = File.ReadAllText("/proc/sys/kernel/osrelease").Trim();
            output.WriteLine($"slow path: kernel (Linux {release}: routing, nftables and conntrack in private namespace {name})");
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"backend:   {run.Switch.Datapath.Backend.Name} (capacity {run.Switch.Datapath.Backend.Capabilities.MaxFlows:N0} flows)"));
            output.WriteLine($"policy:    {DemoReport.Describe(policy)}");
            output.WriteLine("time:      real (the kernel's conntrack runs on it); the namespace is wired to nothing, so no frame leaves it");
            DemoReport.Traffic(run, yaml, connectionCount);
            DemoReport.Write(output, run, rows, () => DemoReport.Kernel(output, run, rows));
        }
        catch (OperationCanceledException) when (interrupted.IsCancellationRequested)
        {
            run.Dispose();
            throw new CliException($"interrupted; {Cleanup(run)}", signalExitCode);
        }
        catch (Exception ex) when (ex is not (CliException or OutOfMemoryException))
        {
            run.Dispose();
            throw new CliException($"the kernel demo failed: {OneLine(ex.Message)} ({Cleanup(run)})");
        }
        finally
        {
            run.Dispose();
        }
        output.WriteLine($"cleanup:   {Cleanup(run)} with its devices, routes and nftables table");
        return true;

        // Said from what is there after the disposal, not assumed.
        static string Cleanup(KernelDemoRun run) => run.NamespaceExists
            ? $"namespace {run.NamespaceName} could not be removed (ip netns delete {run.NamespaceName})"
            : $"namespace {run.NamespaceName} removed";

        static string OneLine(string text) =>
            string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

        void Interrupt(PosixSignalContext context)
        {
            if (interrupted.IsCancellationRequested)
                return; // a second Ctrl+C ends the process at once, cleanup or not
            context.Cancel = true; // unwind and clean up instead of dying with the namespace in place
            signalExitCode = context.Signal == PosixSignal.SIGTERM ? 143 : 130;
            interrupted.Cancel();
        }
    }
}
