using System.CommandLine;
using System.Globalization;
using Offload.Cli.Commands;
using Offload.Cli.Output;
using Offload.Cli.Replay;
using Offload.Policy;
using Offload.Switching;

namespace Offload.Cli.Demo;

/// <summary>
/// <c>offload demo</c>: the bundled policy (<c>demo-policy.yaml</c>) and generated traffic through a virtual switch with
/// the in-process policy slow path — ARP answered, same-host delivery, VXLAN and GRE to another host and back, a
/// load-balanced VIP, SNAT to the public network, ACL and security-group drops, a QoS burst, a policy change with
/// revalidation, and malformed frames — then what happened per claim, the flow table, conntrack and the counters.
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
        var command = new Command("demo",
            "Run generated traffic for a bundled policy through the virtual switch (software fast path, in-process policy slow path) " +
            "and print what happened per claim, the flow table, the conntrack table and the counters.");
        command.Options.Add(connections);
        command.Options.Add(rows);
        command.SetAction(parse =>
        {
            using var stdout = Stdout.Open();
            return Run(parse.GetValue(connections), parse.GetValue(rows), stdout);
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

    public static int Run(int connectionCount, int rows, TextWriter output)
    {
        string yaml = PolicyYaml();
        var loaded = PolicyLoader.Load(yaml);
        if (loaded.Snapshot is null)
            throw PolicyFile.Invalid("the bundled demo policy", loaded.Errors);
        var policy = loaded.Snapshot;

        var options = new VirtualSwitchOptions { Backend = { Capacity = 1 << 16 } };
        using var session = new ReplaySession(policy, new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero), options);
        var run = new DemoRun(session);
        var vswitch = session.Switch;

        output.WriteLine("slow path: in-process policy (bundled demo policy)");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"backend:   {vswitch.Backend.Name} (capacity {vswitch.Backend.Capabilities.MaxFlows:N0} flows)"));
        output.WriteLine($"policy:    {Describe(policy)}");

        var traffic = new DemoTraffic(run);
        traffic.Arp();
        traffic.SameHost(connectionCount);
        traffic.Tunnels();
        traffic.LoadBalancer(8);
        traffic.Snat();
        traffic.Acl();
        traffic.SecurityGroup();
        traffic.Qos();
        traffic.PolicyChange(yaml);
        traffic.BadInput();

        var stats = vswitch.Datapath.GetStats();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"traffic:   {stats.Frames:N0} frames: {stats.FastPathFrames:N0} fast path, {stats.SlowPathFrames:N0} slow path ({100.0 * stats.FastPathFrames / Math.Max(1, stats.Frames):F1}% fast)"));
        output.WriteLine();
        output.WriteLine("== what happened (claim: scenario [frames: fast/slow path, drops]; selected frames as 'offload trace' prints them) ==");
        foreach (var s in run.Scenarios)
        {
            output.WriteLine($"{s.Claim,-10} {s.Title} [{s.Frames} frames: {s.Fast} fast, {s.Frames - s.Fast} slow, {s.Dropped} dropped]");
            foreach (string note in s.Notes)
                output.WriteLine($"{"",-10} {note}");
            foreach (var e in s.Examples)
                output.WriteLine($"{"",-10} {TraceFormatter.Text(e)}");
        }
        output.WriteLine();

        var flows = Tables.SortedFlows(vswitch);
        output.WriteLine($"== flow table: {flows.Count} flows, busiest first (like ovs-appctl dpctl/dump-flows) ==");
        Tables.WriteFlows(output, vswitch, session.Clock, json: false, rows);
        output.WriteLine();
        output.WriteLine($"== conntrack: {vswitch.Conntrack.Count} connections (like conntrack -L) ==");
        Tables.WriteConntrack(output, vswitch, json: false, rows);
        output.WriteLine();
        output.WriteLine("== counters ==");
        Tables.WriteStats(output, vswitch, run.Counter.ByPort, json: false);
        return 0;
    }

    private static string Describe(PolicySnapshot p)
    {
        var networks = string.Join(", ", p.Networks.Select(n => $"{n.Name} {(n.Tunnel == Actions.TunnelType.Gre ? "gre" : "vxlan")} vni {n.Vni}"));
        var local = p.Ports.Where(p.IsLocal).Select(x => x.Name);
        var remote = p.Ports.Where(x => !p.IsLocal(x)).Select(x => $"{x.Name}@{x.Host}");
        return $"{p.Host.Name}; networks {networks}{(p.Peerings.Length > 0 ? " (peered)" : "")}; local ports {string.Join(", ", local)}; " +
               $"remote {string.Join(", ", remote)}; {p.Acl.Rules.Length} ACL rule, {p.SecurityGroups.Length} security group, " +
               $"{p.LoadBalancers.Length} load balancer, SNAT to {string.Join(", ", p.Snat.Select(s => s.PublicIp))}, QoS on {string.Join(", ", p.Qos.Select(q => q.Port))}";
    }
}
