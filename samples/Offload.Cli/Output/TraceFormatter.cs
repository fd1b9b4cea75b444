using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Offload.Datapath;
using Offload.Flows;
using Offload.Packets;

namespace Offload.Cli.Output;

/// <summary>Writes trace entries: one JSON object per line (the SPEC's field contract), or one text line.</summary>
internal sealed class TraceFormatter
{
    private readonly ArrayBufferWriter<byte> _buffer = new(1024);

    public string Json(TraceEntry e)
    {
        _buffer.ResetWrittenCount();
        using (var w = new Utf8JsonWriter(_buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("index", e.Index);
            w.WriteString("time", e.Time.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture));
            w.WriteNumber("length", e.Length);
            WriteNullable(w, "inPort", e.InPort);
            if (e.Key is { } k)
            {
                w.WriteStartObject("key");
                w.WriteString("srcIp", k.SrcIp.ToString());
                w.WriteNumber("srcPort", k.SrcPort);
                w.WriteString("dstIp", k.DstIp.ToString());
                w.WriteNumber("dstPort", k.DstPort);
                w.WriteString("proto", IpProtocol.Name(k.Protocol));
                WriteNullable(w, "inPort", e.InPort);
                w.WriteNumber("vni", k.Vni);
                w.WriteEndObject();
            }
            else
                w.WriteNull("key");
            w.WriteString("path", e.Path == PacketPath.Fast ? "fast" : "slow");
            w.WriteString("verdict", e.Verdict);
            WriteNullable(w, "outPort", e.OutPort);
            if (e.Sent.Headers is { } h)
            {
                w.WriteStartObject("out");
                WriteNullable(w, "srcMac", h.SrcMac?.ToString());
                WriteNullable(w, "dstMac", h.DstMac?.ToString());
                WriteNullable(w, "srcIp", h.SrcIp.IsNone ? null : h.SrcIp.ToString());
                WriteNullable(w, "srcPort", h.SrcPort);
                WriteNullable(w, "dstIp", h.DstIp.IsNone ? null : h.DstIp.ToString());
                WriteNullable(w, "dstPort", h.DstPort);
                w.WriteEndObject();
            }
            else
                w.WriteNull("out");
            if (e.Sent.Encap is { } x)
            {
                w.WriteStartObject("encap");
                w.WriteString("type", x.Type);
                w.WriteNumber("vni", x.Vni);
                w.WriteString("outerSrc", x.OuterSrc.ToString());
                w.WriteString("outerDst", x.OuterDst.ToString());
                w.WriteString("outerDstMac", x.OuterDstMac.ToString());
                w.WriteEndObject();
            }
            else
                w.WriteNull("encap");
            WriteNullable(w, "ctState", e.CtState);
            WriteNullable(w, "ctTimeout", e.CtTimeout);
            WriteNullable(w, "reason", e.Reason);
            if (e.Sent.Response is { } response)
                w.WriteString("response", response);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(_buffer.WrittenSpan);
    }

    /// <summary>
    /// <c>#3 vm1 tcp 10.1.0.1:40000 > 10.1.0.2:80 vni 100 | slow deliver vm2 | out 10.1.0.1:40000 > 10.1.0.2:80 | SYN_SENT 120s</c>.
    /// </summary>
    public static string Text(TraceEntry e)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"#{e.Index,-5} {e.InPort ?? "?",-7} ");
        sb.Append(e.Key is { } k ? Tuple(k) : "(no 7-tuple)");
        sb.Append(CultureInfo.InvariantCulture, $" | {(e.Path == PacketPath.Fast ? "fast" : "slow")} {e.Verdict}");
        if (e.OutPort is not null)
            sb.Append(' ').Append(e.OutPort);
        if (e.Reason is not null)
            sb.Append(' ').Append(e.Reason);
        if (e.Sent.Response is not null)
            sb.Append(' ').Append(e.Sent.Response);
        if (e.Sent.Headers is { } h)
        {
            sb.Append(" | out ");
            if (h.SrcMac is { } sm && h.DstMac is { } dm)
                sb.Append(CultureInfo.InvariantCulture, $"{sm} > {dm} ");
            if (h.Protocol is IpProtocol.Icmp or IpProtocol.IcmpV6)
                sb.Append(Endpoint(h.SrcIp, null)).Append(" > ").Append(Endpoint(h.DstIp, null));
            else
                sb.Append(Endpoint(h.SrcIp, h.SrcPort)).Append(" > ").Append(Endpoint(h.DstIp, h.DstPort));
        }
        if (e.Sent.Encap is { } x)
            sb.Append(CultureInfo.InvariantCulture, $" | {x.Type} vni {x.Vni} {x.OuterSrc} > {x.OuterDst} ({x.OuterDstMac})");
        if (e.CtState is not null)
            sb.Append(CultureInfo.InvariantCulture, $" | {e.CtState} {e.CtTimeout}s");
        return sb.ToString();
    }

    /// <summary><c>tcp 10.1.0.1:40000 > 10.1.0.2:80 vni 100</c>; ICMP as <c>icmp 10.1.0.1 > 10.1.0.2 type 8 code 0 id 7</c>.</summary>
    public static string Tuple(in FlowKey k)
    {
        if (k.Protocol is IpProtocol.Icmp or IpProtocol.IcmpV6)
            return string.Create(CultureInfo.InvariantCulture,
                $"{IpProtocol.Name(k.Protocol)} {k.SrcIp} > {k.DstIp} type {k.DstPort >> 8} code {k.DstPort & 0xFF} id {k.SrcPort} vni {k.Vni}");
        return string.Create(CultureInfo.InvariantCulture,
            $"{IpProtocol.Name(k.Protocol)} {Endpoint(k.SrcIp, k.SrcPort)} > {Endpoint(k.DstIp, k.DstPort)} vni {k.Vni}");
    }

    private static string Endpoint(NetAddress ip, ushort? port)
    {
        string a = ip.IsNone ? "?" : ip.IsV4 || port is null ? ip.ToString() : $"[{ip}]";
        return port is { } p ? string.Create(CultureInfo.InvariantCulture, $"{a}:{p}") : a;
    }

    private static void WriteNullable(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null)
            w.WriteNull(name);
        else
            w.WriteString(name, value);
    }

    private static void WriteNullable(Utf8JsonWriter w, string name, int? value)
    {
        if (value is { } v)
            w.WriteNumber(name, v);
        else
            w.WriteNull(name);
    }

    private static void WriteNullable(Utf8JsonWriter w, string name, ushort? value) => WriteNullable(w, name, (int?)value);
}
