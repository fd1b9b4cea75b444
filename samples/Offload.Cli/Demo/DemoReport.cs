using System.Globalization;
using Offload.Cli.Output;
using Offload.Conntrack;
using Offload.Kernel.Conntrack;
using Offload.Packets;
using Offload.Policy;

namespace Offload.Cli.Demo;

/// <summary>The demo's traffic in order, and what it prints after: per claim, the tables, the counters.</summary>
internal static class DemoReport
{
    public static string Describe(PolicySnapshot p)
    {
        var networks = string.Join(", ", p.Networks.Select(n => $"{n.Name} {(n.Tunnel == Actions.TunnelType.Gre ? "gre" : "vxlan")} vni {n.Vni}"));
        var local = p.Ports.Where(p.IsLocal).Select(x => x.Name);
        var remote = p.Ports.Where(x => !p.IsLocal(x)).Select(x => $"{x.Name}@{x.Host}");
        return $"{p.Host.Name}; networks {networks}{(p.Peerings.Length > 0 ? " (peered)" : "")}; local ports {string.Join(", ", local)}; " +
               $"remote {string.Join(", ", remote)}; {p.Acl.Rules.Length} ACL rule, {p.SecurityGroups.Length} security group, " +
               $"{p.LoadBalancers.Length} load balancer, SNAT to {string.Join(", ", p.Snat.Select(s => s.PublicIp))}, QoS on {string.Join(", ", p.Qos.Select(q => q.Port))}";
    }

    /// <summary>Every scenario, one claim each, on <paramref name="run"/>.</summary>
    public static void Traffic(DemoRun run, string yaml, int connectionCount)
    {
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
        run.Finish();
    }

    /// <summary>The traffic summary, what happened per claim, <paramref name="extra"/> (the kernel's view), then the tables.</summary>
    public static void Write(TextWriter output, DemoRun run, int rows, Action? extra = null)
    {
        var view = run.View;
        var stats = view.Datapath.GetStats();
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
        extra?.Invoke();

        var flows = Tables.SortedFlows(view);
        output.WriteLine($"== flow table: {flows.Count} flows, busiest first (like ovs-appctl dpctl/dump-flows) ==");
        Tables.WriteFlows(output, view, run.Clock, json: false, rows);
        output.WriteLine();
        output.WriteLine($"== conntrack: {view.Conntrack.Count} connections (like conntrack -L) ==");
        Tables.WriteConntrack(output, view, json: false, rows);
        output.WriteLine();
        output.WriteLine("== counters ==");
        Tables.WriteStats(output, view, run.Counter.ByPort, json: false);
    }

    /// <summary>What the kernel saw: the adapter's counters, the ruleset's counters and the kernel's own conntrack table.</summary>
    public static void Kernel(TextWriter output, KernelDemoRun run, int rows)
    {
        var s = run.Switch.SlowPath.Stats;
        var sync = run.Switch.SyncStats;
        var counters = run.RuleCounters();
        var entries = run.KernelConntrack();
        output.WriteLine("== the kernel slow path ==");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"packets written into the kernel {s.Injected}: forwarded {s.Forwarded} (verified byte for byte {s.Verified}, mismatches {s.Mismatches}), " +
            $"dropped by a logged rule {s.Dropped}, unanswered {s.TimedOut}, kernel output matching no request (kernel chatter, late answers) {s.Unmatched}, errors {s.Errors}"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"conntrack sync: {sync.KernelEntries} kernel entries mirrored, {sync.Destroys} kernel DESTROY events, {sync.TimeoutsRefreshed} kernel timeouts refreshed by fast-path activity"));
        output.WriteLine("nft rule counters (packets that met each rule of the demo's table; the fast path's packets never do):");
        foreach (var (rule, counter) in counters.Where(c => c.Value.Packets > 0).OrderByDescending(c => c.Value.Packets).ThenBy(c => c.Key, StringComparer.Ordinal))
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"   {rule,-32} packets {counter.Packets,6}  bytes {counter.Bytes,8}"));
        output.WriteLine();

        var datapath = new Dictionary<ConntrackTuple, ConnectionInfo>();
        foreach (var c in run.View.Conntrack.Snapshot())
            datapath.TryAdd(ConntrackTuple.FromFlowKey(c.Original), c);
        var sorted = entries.OrderBy(e => e.Original.Protocol).ThenBy(e => e.Original.ToString(), StringComparer.Ordinal).ToList();
        output.WriteLine($"== kernel conntrack: {entries.Count} entries (conntrack -L in the demo's namespace; packets = what reached the kernel, " +
                         "datapath = what the switch counted) ==");
        foreach (var e in rows <= 0 ? sorted : sorted.Take(rows))
        {
            string ours = datapath.TryGetValue(e.Original, out var c)
                ? string.Create(CultureInfo.InvariantCulture, $" | datapath packets={c.OriginalPackets}/{c.ReplyPackets} {c.State.Name()}")
                : " | not in the datapath";
            output.WriteLine(KernelEntryText(e) + ours);
        }
        if (rows > 0 && sorted.Count > rows)
            output.WriteLine($"... {sorted.Count - rows} more (--rows 0 for all)");
        output.WriteLine();
    }

    /// <summary>One kernel conntrack entry the way <c>conntrack -L</c> prints it.</summary>
    public static string KernelEntryText(in KernelConntrackEntry e)
    {
        var o = e.Original;
        var sb = new System.Text.StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{IpProtocol.Name(o.Protocol),-8} {o.Protocol} {e.TimeoutSeconds} ");
        if (o.Protocol == IpProtocol.Tcp)
            sb.Append(e.State.Name()).Append(' ');
        Tuple(sb, o);
        if (e.HasCounters)
            sb.Append(CultureInfo.InvariantCulture, $" packets={e.OriginalPackets} bytes={e.OriginalBytes}");
        if ((e.Status & ConntrackStatus.SeenReply) == 0)
            sb.Append(" [UNREPLIED]");
        sb.Append(' ');
        Tuple(sb, e.Reply);
        if (e.HasCounters)
            sb.Append(CultureInfo.InvariantCulture, $" packets={e.ReplyPackets} bytes={e.ReplyBytes}");
        if ((e.Status & ConntrackStatus.Assured) != 0)
            sb.Append(" [ASSURED]");
        sb.Append(CultureInfo.InvariantCulture, $" mark={e.Mark}");
        return sb.ToString();
    }

    private static void Tuple(System.Text.StringBuilder sb, in ConntrackTuple t)
    {
        sb.Append(CultureInfo.InvariantCulture, $"src={t.Source} dst={t.Destination} ");
        if (t.IsIcmp)
            sb.Append(CultureInfo.InvariantCulture, $"type={t.IcmpType} code={t.IcmpCode} id={t.SourcePort}");
        else
            sb.Append(CultureInfo.InvariantCulture, $"sport={t.SourcePort} dport={t.DestinationPort}");
    }
}
