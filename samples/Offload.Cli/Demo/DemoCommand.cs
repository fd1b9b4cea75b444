using System.CommandLine;
using System.Globalization;
using Offload.Backends.Software;
using Offload.Conntrack;
using Offload.Datapath;
using Offload.Packets;

namespace Offload.Cli.Demo;

/// <summary>
/// <c>offload demo</c>: generated traffic through the datapath on a built-in topology — TCP
/// connections with handshake, data and close, a load-balanced VIP, UDP to a VM on another host over
/// VXLAN and its replies, ICMP echo, a denied SSH attempt and malformed input — then the flow table,
/// conntrack table and counters.
/// </summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var connections = new Option<int>("--connections")
        {
            Description = "TCP connections to open between the local VMs (1-100000).",
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
        var command = new Command("demo", "Run generated traffic through the datapath and print its tables and counters.");
        command.Options.Add(connections);
        command.Options.Add(rows);
        command.SetAction(parse => Run(parse.GetValue(connections), parse.GetValue(rows), Console.Out));
        return command;
    }

    public static int Run(int connectionCount, int rows, TextWriter output)
    {
        var topology = new DemoTopology();
        var sink = new CountingSink();
        using var backend = new SoftwareBackend(new SoftwareBackendOptions { Capacity = 1 << 16 });
        using var datapath = new Datapath.Datapath(new DatapathOptions(), new DemoSlowPath(topology), backend, sink);
        datapath.AddPort(DemoTopology.Vm1Port, "vm1", DemoTopology.Vni);
        datapath.AddPort(DemoTopology.Vm2Port, "vm2", DemoTopology.Vni);
        datapath.AddUplink(DemoTopology.UplinkPort);

        output.WriteLine("slow path: in-process (the demo's built-in routing; the policy slow path is not in this build yet)");
        output.WriteLine($"backend:   {backend.Name} (capacity {backend.Capabilities.MaxFlows:N0} flows)");

        var traffic = new DemoTraffic(topology, datapath);
        traffic.TcpConnections(connectionCount, dataSegments: 4, closeEvery: 2);
        traffic.LoadBalancedConnections(8);
        traffic.UdpToRemoteHost(16, repliesOverVxlan: 3);
        traffic.Ping(5);
        traffic.DeniedSsh(3);
        traffic.BadInput();
        datapath.Poll();

        var stats = datapath.GetStats();
        output.WriteLine($"traffic:   {stats.Frames:N0} frames: {stats.FastPathFrames:N0} fast path, {stats.SlowPathFrames:N0} slow path " +
                         $"({100.0 * stats.FastPathFrames / Math.Max(1, stats.Frames):F1}% fast)");
        output.WriteLine();
        PrintFlows(backend, datapath, rows, output);
        output.WriteLine();
        PrintConntrack(datapath.Conntrack, rows, output);
        output.WriteLine();
        PrintCounters(stats, sink, datapath, output);
        return 0;
    }

    private static void PrintFlows(SoftwareBackend backend, Datapath.Datapath datapath, int rows, TextWriter output)
    {
        var flows = backend.Snapshot().OrderByDescending(f => f.Stats.Packets).ThenBy(f => f.Key.ToString(), StringComparer.Ordinal).ToList();
        output.WriteLine($"== flow table: {flows.Count} flows (busiest first) ==");
        output.WriteLine($"{"in",-7} {"vni",4} {"proto",-6} {"src",-21} {"dst",-21} {"pkts",6} {"bytes",8}  action");
        foreach (var f in Take(flows, rows))
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{datapath.PortName(f.Key.InPort),-7} {f.Key.Vni,4} {IpProtocol.Name(f.Key.Protocol),-6} {f.Key.SrcIp + ":" + f.Key.SrcPort,-21} {f.Key.DstIp + ":" + f.Key.DstPort,-21} {f.Stats.Packets,6} {f.Stats.Bytes,8}  {f.Action}"));
        }
        More(flows.Count, rows, output);
    }

    private static void PrintConntrack(ConntrackTable conntrack, int rows, TextWriter output)
    {
        var entries = conntrack.Snapshot().OrderBy(c => c.Original.ToString(), StringComparer.Ordinal).ToList();
        output.WriteLine($"== conntrack: {entries.Count} connections ==");
        foreach (var group in entries.GroupBy(e => e.State).OrderBy(g => g.Key))
            output.WriteLine($"   {group.Key.Name(),-12} {group.Count()}");
        foreach (var c in Take(entries, rows))
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{IpProtocol.Name(c.Protocol),-5} {(int)c.TimeoutRemaining.TotalSeconds,7} {c.State.Name(),-12} src={c.Original.SrcIp} dst={c.Original.DstIp} sport={c.Original.SrcPort} dport={c.Original.DstPort} packets={c.OriginalPackets} " +
                $"src={c.Reply.SrcIp} dst={c.Reply.DstIp} sport={c.Reply.SrcPort} dport={c.Reply.DstPort} packets={c.ReplyPackets}{(c.Assured ? " [ASSURED]" : "")} zone={c.Original.Vni}"));
        }
        More(entries.Count, rows, output);
    }

    private static void PrintCounters(DatapathStats stats, CountingSink sink, Datapath.Datapath datapath, TextWriter output)
    {
        output.WriteLine("== counters ==");
        output.WriteLine($"frames {stats.Frames}, forwarded {stats.Forwarded}, dropped {stats.Dropped}");
        output.WriteLine($"fast path {stats.FastPathFrames}, slow path {stats.SlowPathFrames}");
        output.WriteLine($"flows installed {stats.FlowsInstalled}, removed {stats.FlowsRemoved}, install failures {stats.FlowInstallFailures}, in table {stats.Flows}");
        output.WriteLine($"connections tracked {stats.Connections}");
        foreach (var (port, count) in sink.OutByPort.OrderBy(p => p.Key))
            output.WriteLine($"out {datapath.PortName(port) ?? port.ToString(CultureInfo.InvariantCulture)}: {count}");
        foreach (var (reason, count) in stats.DropsByReason.OrderBy(d => d.Key))
            output.WriteLine($"drop {reason.Name()}: {count}");
    }

    private static IEnumerable<T> Take<T>(List<T> list, int rows) => rows <= 0 ? list : list.Take(rows);

    private static void More(int count, int rows, TextWriter output)
    {
        if (rows > 0 && count > rows)
            output.WriteLine($"... {count - rows} more (--rows 0 for all)");
    }

    private sealed class CountingSink : IFrameSink
    {
        public Dictionary<ushort, long> OutByPort { get; } = new();

        public void OnFrame(in FrameResult result, ReadOnlySpan<byte> frame)
        {
            if (result.Verdict == Actions.ActionVerdict.Output)
                OutByPort[result.OutPort] = OutByPort.GetValueOrDefault(result.OutPort) + 1;
        }
    }
}
