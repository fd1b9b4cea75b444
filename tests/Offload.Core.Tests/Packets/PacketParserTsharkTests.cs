using System.Collections.Concurrent;
using System.Globalization;
using Offload.Packets;
using Offload.Tests.Capture;
using Xunit.Abstractions;

namespace Offload.Tests.Packets;

/// <summary>
/// Cross-checks the parser against tshark on every corpus file: for each frame we accept as IP with TCP/UDP
/// ports (outer, and inner for tunnels; also the quoted tuple of ICMP errors) the addresses, protocol, ports and
/// VNI must equal tshark's decoding. tshark runs once per file.
/// </summary>
public class PacketParserTsharkTests(ITestOutputHelper output)
{
    private static readonly string[] Fields =
    [
        "frame.number", "frame.protocols", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst",
        "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport", "vxlan.vni", "gre.key", "_ws.malformed",
    ];

    // Column of each field above; a destination column always follows its source column.
    private const int FNumber = 0, FProtocols = 1, FIpSrc = 2, FIp6Src = 4, FTcpSrc = 6, FUdpSrc = 8, FVni = 10, FGreKey = 11, FMalformed = 12;

    private static readonly string[] Arguments = BuildArguments();

    private static string[] BuildArguments()
    {
        var args = new List<string>
        {
            "-T", "fields", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=,",
            // Reassembly would move a datagram's L4 decoding to its last fragment or segment; we compare per frame.
            "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE", "-o", "tcp.desegment_tcp_streams:FALSE",
            "-d", "udp.port==4789,vxlan",
        };
        foreach (var f in Fields)
        {
            args.Add("-e");
            args.Add(f);
        }
        return args.ToArray();
    }

    private sealed class Tally
    {
        public int Files, FilesRun, Compared, Agreed, InnerCompared, IcmpErrorsCompared, IcmpErrorsAgreed;
        /// <summary>Frames we drop as malformed whose first IP layer tshark still decoded down to TCP/UDP ports:
        /// we are stricter by design (a frame cut by the capture's snapshot length is not a forwardable packet).</summary>
        public readonly ConcurrentDictionary<string, int> StricterThanTshark = new();
        public readonly ConcurrentQueue<string> Disagreements = new();
    }

    [Fact]
    public async Task Parse_CorpusFrames_AgreeWithTshark()
    {
        if (!TsharkRunner.IsAvailable)
            throw new InvalidOperationException(TsharkRunner.MissingMessage);
        var tally = new Tally();
        var files = Corpus.Files();
        tally.Files = files.Length;
        await Parallel.ForEachAsync(files, new ParallelOptions { MaxDegreeOfParallelism = 2 },
            async (file, ct) => await CheckFileAsync(file, tally, ct));

        output.WriteLine($"files {tally.Files}, tshark runs {tally.FilesRun}; layers compared {tally.Compared} (inner {tally.InnerCompared}), agreed {tally.Agreed}; " +
                         $"ICMP-error quotes compared {tally.IcmpErrorsCompared}, agreed {tally.IcmpErrorsAgreed}");
        output.WriteLine("dropped by us, ports decoded by tshark: " +
                         string.Join(", ", tally.StricterThanTshark.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} {kv.Value}")));
        foreach (var d in tally.Disagreements.OrderBy(d => d, StringComparer.Ordinal))
            output.WriteLine("DISAGREE " + d);

        tally.Compared.Should().BeGreaterThan(2000);
        tally.InnerCompared.Should().BeGreaterThan(0, "the corpus has VXLAN and GRE frames whose inner TCP/UDP must match");
        // No difference is excused today: the corpus gave none. A future excuse must name its precise cause here.
        tally.Disagreements.Should().BeEmpty("every difference from tshark must be explained (see the output)");
        tally.Agreed.Should().Be(tally.Compared);
    }

    private static async Task CheckFileAsync(string file, Tally tally, CancellationToken ct)
    {
        var (frames, _) = Corpus.Read(file);
        var parsed = new ParsedPacket[frames.Count];
        bool anyComparable = false;
        for (int i = 0; i < frames.Count; i++)
        {
            PacketParser.Parse(frames[i], out parsed[i]);
            anyComparable |= IsComparable(parsed[i]) || parsed[i].IsIcmpError;
        }
        // Nothing to compare in this file (no IP frame we accept with ports): running tshark would check nothing.
        if (!anyComparable)
            return;
        Interlocked.Increment(ref tally.FilesRun);
        var lines = await TsharkRunner.RunAsync(file, Arguments, ct);
        var byFrame = new Dictionary<int, string[]>();
        foreach (var line in lines)
        {
            var cols = line.Split('\t');
            if (cols.Length >= Fields.Length && int.TryParse(cols[FNumber], CultureInfo.InvariantCulture, out int n))
                byFrame[n] = cols;
        }
        string name = Path.GetFileName(file);
        for (int i = 0; i < frames.Count; i++)
        {
            ref var p = ref parsed[i];
            if (!byFrame.TryGetValue(i + 1, out var cols))
            {
                if (IsComparable(p))
                    tally.Disagreements.Enqueue($"{name} #{i + 1}: tshark printed no line");
                continue;
            }
            var layers = new TsharkLayers(cols, FProtocols, FIpSrc, FIp6Src, FTcpSrc, FUdpSrc, FVni, FGreKey);
            if (IsComparable(p))
                CompareLayer(tally, name, i + 1, "outer", p, layers, layers.FirstIp, cols);
            if (p.IsValid && p.Tunnel != TunnelKind.None)
            {
                Corpus.ParseInner(frames[i], p, out var inner);
                if (IsComparable(inner))
                {
                    Interlocked.Increment(ref tally.InnerCompared);
                    CompareLayer(tally, name, i + 1, "inner", inner, layers, layers.FirstIpAfterTunnel(p.Tunnel), cols);
                }
            }
            if (!p.IsValid && p.IsIp && layers.FirstIp >= 0 && layers.Ip[0].Transport is "tcp" or "udp")
                tally.StricterThanTshark.AddOrUpdate(p.Error.Name(), 1, (_, v) => v + 1);
            if (p.IsValid && p.IsIcmpError && p.InnerProtocol is IpProtocol.Tcp or IpProtocol.Udp)
                CompareQuoted(tally, name, i + 1, p, layers, cols);
        }
    }

    private static bool IsComparable(in ParsedPacket p) =>
        p.IsValid && p.IsIp && p.HasPorts && p.Protocol is IpProtocol.Tcp or IpProtocol.Udp;

    private static void CompareLayer(Tally tally, string file, int frame, string which, in ParsedPacket p, TsharkLayers layers, int layer,
        string[] cols)
    {
        Interlocked.Increment(ref tally.Compared);
        string ours = $"{p.SrcIp}:{p.SrcPort} > {p.DstIp}:{p.DstPort} proto {p.Protocol}" + (p.Tunnel != TunnelKind.None ? $" vni {p.Vni}" : "");
        string theirs;
        if (layer < 0)
            theirs = $"no IP layer ({cols[FProtocols]})";
        else
        {
            var l = layers.Ip[layer];
            string transport = l.Transport ?? "none";
            var (sp, dp) = layers.Ports(l);
            theirs = $"{l.Src}:{sp} > {l.Dst}:{dp} {transport}" + (p.Tunnel != TunnelKind.None ? $" vni {layers.Vni(p.Tunnel)}" : "");
            bool same = l.Src == p.SrcIp.ToString() && l.Dst == p.DstIp.ToString() &&
                        transport == (p.Protocol == IpProtocol.Tcp ? "tcp" : "udp") &&
                        sp == p.SrcPort.ToString(CultureInfo.InvariantCulture) && dp == p.DstPort.ToString(CultureInfo.InvariantCulture) &&
                        (p.Tunnel == TunnelKind.None || layers.Vni(p.Tunnel) == p.Vni.ToString(CultureInfo.InvariantCulture));
            if (same)
            {
                Interlocked.Increment(ref tally.Agreed);
                return;
            }
        }
        tally.Disagreements.Enqueue($"{file} #{frame} {which}: ours {ours} | tshark {theirs} {cols[FMalformed]}");
    }

    private static void CompareQuoted(Tally tally, string file, int frame, in ParsedPacket p, TsharkLayers layers, string[] cols)
    {
        Interlocked.Increment(ref tally.IcmpErrorsCompared);
        int quoted = layers.FirstIp >= 0 && layers.FirstIp + 1 < layers.Ip.Count ? layers.FirstIp + 1 : -1;
        string ours = $"{p.InnerSrcIp}:{p.InnerSrcPort} > {p.InnerDstIp}:{p.InnerDstPort} proto {p.InnerProtocol}";
        if (quoted >= 0)
        {
            var l = layers.Ip[quoted];
            var (sp, dp) = layers.Ports(l);
            bool portsShown = l.Transport is "tcp" or "udp";
            bool same = l.Src == p.InnerSrcIp.ToString() && l.Dst == p.InnerDstIp.ToString() &&
                        (!portsShown || (sp == p.InnerSrcPort.ToString(CultureInfo.InvariantCulture) &&
                                         dp == p.InnerDstPort.ToString(CultureInfo.InvariantCulture)));
            if (same)
            {
                Interlocked.Increment(ref tally.IcmpErrorsAgreed);
                return;
            }
            tally.Disagreements.Enqueue($"{file} #{frame} icmp-quote: ours {ours} | tshark {l.Src}:{sp} > {l.Dst}:{dp} {l.Transport}");
            return;
        }
        tally.Disagreements.Enqueue($"{file} #{frame} icmp-quote: ours {ours} | tshark no quoted IP ({cols[FProtocols]})");
    }
}
