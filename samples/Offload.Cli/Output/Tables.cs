using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Offload.Backends.Software;
using Offload.Conntrack;
using Offload.Datapath;
using Offload.Flows;
using Offload.Hosting;
using Offload.Kernel.PacketIo;
using Offload.Packets;
using Offload.Switching;

namespace Offload.Cli.Output;

/// <summary>
/// The switch's tables as text or JSON Lines: the flow table like <c>ovs-appctl dpctl/dump-flows</c>, conntrack like
/// <c>conntrack -L</c>, and the counters. Rows are sorted so that the output of a replay is reproducible.
/// </summary>
internal static class Tables
{
    // ---------------- flows ----------------

    /// <summary>Every flow (with a DOCA backend, the device's too, with their placement), busiest first.</summary>
    public static List<FlowRow> SortedFlows(SwitchView vswitch) =>
        FlowRows.Of(vswitch).OrderByDescending(r => r.Flow.Stats.Packets).ThenBy(r => r.Flow.Key.ToString(), StringComparer.Ordinal).ToList();

    public static void WriteFlows(TextWriter output, SwitchView vswitch, TimeProvider clock, bool json, int rows = 0)
    {
        var flows = SortedFlows(vswitch);
        long now = clock.GetTimestamp();
        foreach (var r in Take(flows, rows))
            output.WriteLine(json ? FlowJson(vswitch, r, now, clock.TimestampFrequency) : FlowText(vswitch, r, now, clock.TimestampFrequency));
        More(output, json, flows.Count, rows);
    }

    /// <summary><c>in_port(vm1),vni(100),ipv4(src=…,dst=…,proto=tcp),tcp(src=…,dst=…), packets:5, bytes:420, used:0.250s, actions:…</c>;
    /// with a device, <c>placement:device</c> or <c>placement:software(reason: detail)</c> before the actions.</summary>
    public static string FlowText(SwitchView vswitch, FlowRow row, long now, long frequency)
    {
        var f = row.Flow;
        var k = f.Key;
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"in_port({vswitch.PortName(k.InPort) ?? k.InPort.ToString(CultureInfo.InvariantCulture)}),vni({k.Vni}),");
        sb.Append(CultureInfo.InvariantCulture, $"{(k.IsV4 ? "ipv4" : "ipv6")}(src={k.SrcIp},dst={k.DstIp},proto={IpProtocol.Name(k.Protocol)})");
        if (k.Protocol is IpProtocol.Icmp or IpProtocol.IcmpV6)
            sb.Append(CultureInfo.InvariantCulture, $",{IpProtocol.Name(k.Protocol)}(type={k.DstPort >> 8},code={k.DstPort & 0xFF},id={k.SrcPort})");
        else if (k.Protocol is IpProtocol.Tcp or IpProtocol.Udp)
            sb.Append(CultureInfo.InvariantCulture, $",{IpProtocol.Name(k.Protocol)}(src={k.SrcPort},dst={k.DstPort})");
        sb.Append(CultureInfo.InvariantCulture, $", packets:{f.Stats.Packets}, bytes:{f.Stats.Bytes}, used:{Used(f.Stats, now, frequency)}, ");
        if (row.Placement is { } placement)
            sb.Append(FlowRows.Text(placement)).Append(", ");
        sb.Append(CultureInfo.InvariantCulture, $"actions:{f.Action}");
        return sb.ToString();
    }

    private static string FlowJson(SwitchView vswitch, FlowRow row, long now, long frequency)
    {
        var f = row.Flow;
        var k = f.Key;
        return Json(w =>
        {
            w.WriteStartObject();
            w.WriteString("inPort", vswitch.PortName(k.InPort));
            w.WriteNumber("vni", k.Vni);
            w.WriteString("proto", IpProtocol.Name(k.Protocol));
            w.WriteString("srcIp", k.SrcIp.ToString());
            w.WriteNumber("srcPort", k.SrcPort);
            w.WriteString("dstIp", k.DstIp.ToString());
            w.WriteNumber("dstPort", k.DstPort);
            w.WriteNumber("packets", f.Stats.Packets);
            w.WriteNumber("bytes", f.Stats.Bytes);
            if (f.Stats.LastSeenTicks == 0)
                w.WriteNull("usedSeconds");
            else
                w.WriteNumber("usedSeconds", Math.Round((double)(now - f.Stats.LastSeenTicks) / frequency, 6));
            w.WriteString("actions", f.Action.ToString());
            w.WriteString("direction", f.Connection.IsNone ? null : f.Direction == ConnDirection.Original ? "original" : "reply");
            if (row.Placement is { } placement)
            {
                w.WriteString("placement", FlowRows.PlacementName(placement.Placement));
                w.WriteString("notOffloaded", FlowRows.ReasonName(placement.Reason));
                w.WriteString("notOffloadedDetail", placement.Detail);
            }
            w.WriteEndObject();
        });
    }

    private static string Used(FlowStats stats, long now, long frequency) =>
        stats.LastSeenTicks == 0 ? "never" : string.Create(CultureInfo.InvariantCulture, $"{(double)Math.Max(0, now - stats.LastSeenTicks) / frequency:F3}s");

    // ---------------- conntrack ----------------

    public static List<ConnectionInfo> SortedConnections(SwitchView vswitch) =>
        vswitch.Conntrack.Snapshot().OrderBy(c => c.Original.Vni).ThenBy(c => c.Original.ToString(), StringComparer.Ordinal).ToList();

    public static void WriteConntrack(TextWriter output, SwitchView vswitch, bool json, int rows = 0)
    {
        var entries = SortedConnections(vswitch);
        foreach (var c in Take(entries, rows))
            output.WriteLine(json ? ConnectionJson(vswitch, c) : ConnectionText(c));
        More(output, json, entries.Count, rows);
    }

    /// <summary><c>tcp      6 431999 ESTABLISHED src=… dst=… sport=… dport=… packets=… bytes=… src=… … [ASSURED] zone=100</c></summary>
    public static string ConnectionText(in ConnectionInfo c)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{IpProtocol.Name(c.Protocol),-8} {c.Protocol} {(long)c.TimeoutRemaining.TotalSeconds} ");
        // conntrack -L names the state of TCP only; UDP and ICMP show it as flags.
        if (c.State.IsTcp())
            sb.Append(c.State.Name()).Append(' ');
        Tuple(sb, c.Original);
        sb.Append(CultureInfo.InvariantCulture, $" packets={c.OriginalPackets} bytes={c.OriginalBytes}");
        if (!c.SeenReply)
            sb.Append(" [UNREPLIED]");
        sb.Append(' ');
        Tuple(sb, c.Reply);
        sb.Append(CultureInfo.InvariantCulture, $" packets={c.ReplyPackets} bytes={c.ReplyBytes}");
        if (c.Assured)
            sb.Append(" [ASSURED]");
        if (c.Original.Vni != 0)
            sb.Append(CultureInfo.InvariantCulture, $" zone={c.Original.Vni}");
        return sb.ToString();
    }

    private static void Tuple(StringBuilder sb, in FlowKey k)
    {
        sb.Append(CultureInfo.InvariantCulture, $"src={k.SrcIp} dst={k.DstIp} ");
        if (k.Protocol is IpProtocol.Icmp or IpProtocol.IcmpV6)
            sb.Append(CultureInfo.InvariantCulture, $"type={k.DstPort >> 8} code={k.DstPort & 0xFF} id={k.SrcPort}");
        else
            sb.Append(CultureInfo.InvariantCulture, $"sport={k.SrcPort} dport={k.DstPort}");
    }

    private static string ConnectionJson(SwitchView vswitch, ConnectionInfo c) => Json(w =>
    {
        w.WriteStartObject();
        w.WriteString("proto", IpProtocol.Name(c.Protocol));
        w.WriteString("state", c.State.Name());
        w.WriteNumber("timeout", (long)c.TimeoutRemaining.TotalSeconds);
        w.WriteBoolean("assured", c.Assured);
        w.WriteBoolean("seenReply", c.SeenReply);
        Direction(w, vswitch, "original", c.Original, c.OriginalPackets, c.OriginalBytes);
        Direction(w, vswitch, "reply", c.Reply, c.ReplyPackets, c.ReplyBytes);
        w.WriteEndObject();
    });

    private static void Direction(Utf8JsonWriter w, SwitchView vswitch, string name, in FlowKey k, long packets, long bytes)
    {
        w.WriteStartObject(name);
        w.WriteString("srcIp", k.SrcIp.ToString());
        w.WriteNumber("srcPort", k.SrcPort);
        w.WriteString("dstIp", k.DstIp.ToString());
        w.WriteNumber("dstPort", k.DstPort);
        w.WriteString("inPort", vswitch.PortName(k.InPort));
        w.WriteNumber("vni", k.Vni);
        w.WriteNumber("packets", packets);
        w.WriteNumber("bytes", bytes);
        w.WriteEndObject();
    }

    // ---------------- counters ----------------

    public static void WriteStats(TextWriter output, SwitchView vswitch, IReadOnlyDictionary<ushort, long> outByPort, bool json,
        IReadOnlyList<OffloadPortCounters>? ports = null, IReadOnlyList<PacketPumpPortStatistics>? interfaces = null)
    {
        var stats = vswitch.Datapath.GetStats();
        var byState = vswitch.Conntrack.Snapshot().GroupBy(c => c.State).OrderBy(g => g.Key).Select(g => (g.Key.Name(), (long)g.Count())).ToList();
        var drops = stats.DropsByReason.OrderBy(d => d.Key).Select(d => (d.Key.Name(), d.Value)).ToList();
        var outs = outByPort.OrderBy(p => p.Key).Select(p => (vswitch.PortName(p.Key) ?? p.Key.ToString(CultureInfo.InvariantCulture), p.Value)).ToList();
        var portRows = ports?.OrderBy(p => p.Port).ToList() ?? [];
        if (json)
        {
            output.WriteLine(Json(w =>
            {
                w.WriteStartObject();
                w.WriteNumber("frames", stats.Frames);
                w.WriteNumber("fastPath", stats.FastPathFrames);
                w.WriteNumber("slowPath", stats.SlowPathFrames);
                w.WriteNumber("forwarded", stats.Forwarded);
                w.WriteNumber("dropped", stats.Dropped);
                // Where flows are installed: the software table, or a hardware backend (whose misses reach the host).
                w.WriteStartObject("backend");
                w.WriteString("name", vswitch.Datapath.OffloadBackend.Name);
                w.WriteNumber("flows", stats.Flows);
                w.WriteNumber("installed", stats.FlowsInstalled);
                w.WriteNumber("hostTableFlows", vswitch.Backend.Count);
                w.WriteEndObject();
                Counts(w, "drops", drops);
                Counts(w, "out", outs);
                if (ports is not null)
                {
                    w.WriteStartObject("ports");
                    foreach (var p in portRows)
                    {
                        w.WriteStartObject(p.Name);
                        w.WriteNumber("inFrames", p.InFrames);
                        w.WriteNumber("inBytes", p.InBytes);
                        w.WriteNumber("outFrames", p.OutFrames);
                        w.WriteNumber("outBytes", p.OutBytes);
                        w.WriteEndObject();
                    }
                    w.WriteEndObject();
                }
                if (interfaces is not null)
                {
                    w.WriteStartObject("interfaces");
                    foreach (var d in interfaces)
                    {
                        w.WriteStartObject(d.PortName);
                        w.WriteString("interface", d.InterfaceName);
                        w.WriteNumber("receivedFrames", d.ReceivedFrames);
                        w.WriteNumber("receivedBytes", d.ReceivedBytes);
                        w.WriteNumber("sentFrames", d.SentFrames);
                        w.WriteNumber("sentBytes", d.SentBytes);
                        w.WriteNumber("receiveErrors", d.ReceiveErrors);
                        w.WriteNumber("sendErrors", d.SendErrors);
                        w.WriteNumber("oversize", d.Oversize);
                        w.WriteNumber("kernelDrops", d.KernelDrops);
                        w.WriteNumber("lastErrno", d.LastErrno);
                        w.WriteEndObject();
                    }
                    w.WriteEndObject();
                }
                w.WriteNumber("flows", stats.Flows);
                w.WriteNumber("flowsInstalled", stats.FlowsInstalled);
                w.WriteNumber("flowsRemoved", stats.FlowsRemoved);
                w.WriteNumber("flowInstallFailures", stats.FlowInstallFailures);
                w.WriteNumber("connections", stats.Connections);
                Counts(w, "connectionsByState", byState);
                w.WriteEndObject();
            }));
            return;
        }
        output.WriteLine($"frames {stats.Frames}");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"fast path {stats.FastPathFrames}, slow path {stats.SlowPathFrames} ({100.0 * stats.FastPathFrames / Math.Max(1, stats.Frames):F1}% fast)"));
        output.WriteLine($"forwarded {stats.Forwarded}, dropped {stats.Dropped}");
        if (ports is null)
        {
            foreach (var (port, count) in outs)
                output.WriteLine($"out {port}: {count}");
        }
        else
        {
            output.WriteLine($"{"port",-12} {"in frames",12} {"in bytes",14} {"out frames",12} {"out bytes",14}");
            foreach (var p in portRows)
                output.WriteLine($"{p.Name,-12} {p.InFrames,12} {p.InBytes,14} {p.OutFrames,12} {p.OutBytes,14}");
        }
        if (interfaces is not null)
        {
            output.WriteLine($"{"interface",-16} {"port",-12} {"received",10} {"sent",10} {"errors",7} {"oversize",9} {"kernel drops",13}  last error");
            foreach (var d in interfaces)
            {
                string last = d.LastErrno == 0 ? "-" : $"{System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(d.LastErrno)} ({d.LastErrno})";
                output.WriteLine($"{d.InterfaceName,-16} {d.PortName,-12} {d.ReceivedFrames,10} {d.SentFrames,10} {d.ReceiveErrors + d.SendErrors,7} {d.Oversize,9} {d.KernelDrops,13}  {last}");
            }
        }
        foreach (var (reason, count) in drops)
            output.WriteLine($"drop {reason}: {count}");
        output.WriteLine($"flows {stats.Flows} in table: installed {stats.FlowsInstalled}, removed {stats.FlowsRemoved}, install failures {stats.FlowInstallFailures}");
        output.WriteLine($"connections tracked {stats.Connections}");
        foreach (var (state, count) in byState)
            output.WriteLine($"   {state,-12} {count}");
    }

    private static void Counts(Utf8JsonWriter w, string name, List<(string Name, long Count)> counts)
    {
        w.WriteStartObject(name);
        foreach (var (n, c) in counts)
            w.WriteNumber(n, c);
        w.WriteEndObject();
    }

    // ---------------- helpers ----------------

    private static IEnumerable<T> Take<T>(List<T> list, int rows) => rows <= 0 ? list : list.Take(rows);

    private static void More(TextWriter output, bool json, int count, int rows)
    {
        if (!json && rows > 0 && count > rows)
            output.WriteLine($"... {count - rows} more (--rows 0 for all)");
    }

    private static string Json(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer))
            write(w);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}

/// <summary>Counts frames sent out of each port (for the counters).</summary>
internal sealed class OutputCounter : IFrameSink
{
    private readonly Dictionary<ushort, long> _byPort = new();

    public IReadOnlyDictionary<ushort, long> ByPort => _byPort;

    public void OnFrame(in FrameResult result, ReadOnlySpan<byte> frame)
    {
        if (result.Verdict == Actions.ActionVerdict.Output)
            _byPort[result.OutPort] = _byPort.GetValueOrDefault(result.OutPort) + 1;
    }
}
