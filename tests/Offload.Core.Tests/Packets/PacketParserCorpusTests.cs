using Offload.Packets;
using Xunit.Abstractions;

namespace Offload.Tests.Packets;

/// <summary>Every frame of the real captures (447 files of tcpdump's test suite, many deliberately malformed).</summary>
public class PacketParserCorpusTests(ITestOutputHelper output)
{
    [Fact]
    public void Parse_EveryCorpusFrame_CountsDropsAndAcceptsMostIpFrames()
    {
        var files = Corpus.Files();
        var outerDrops = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var innerDrops = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var unreadable = new List<string>();
        int frames = 0, ipFrames = 0, ipParsed = 0, tunnels = 0, innerParsed = 0, arp = 0;

        foreach (var file in files)
        {
            var (records, error) = Corpus.Read(file);
            if (error is not null)
                unreadable.Add($"{Path.GetFileName(file)}: {error.Message}");
            foreach (var frame in records)
            {
                frames++;
                PacketParser.Parse(frame, out var p);
                Count(outerDrops, p.Error);
                if (p.L3 == L3Kind.Arp && p.IsValid)
                    arp++;
                if (p.EtherType is EtherType.IPv4 or EtherType.IPv6)
                {
                    ipFrames++;
                    if (p.IsValid)
                        ipParsed++;
                }
                if (p.IsValid && p.Tunnel != TunnelKind.None)
                {
                    tunnels++;
                    Corpus.ParseInner(frame, p, out var inner);
                    Count(innerDrops, inner.Error);
                    if (inner.IsValid)
                        innerParsed++;
                }
            }
        }

        output.WriteLine($"files {files.Length}, unreadable {unreadable.Count}, frames {frames}, IP frames {ipFrames} (parsed {ipParsed}), " +
                         $"ARP {arp}, tunnels {tunnels} (inner parsed {innerParsed})");
        output.WriteLine("outer: " + string.Join(", ", outerDrops.Select(kv => $"{kv.Key} {kv.Value}")));
        output.WriteLine("inner: " + string.Join(", ", innerDrops.Select(kv => $"{kv.Key} {kv.Value}")));
        foreach (var u in unreadable)
            output.WriteLine("unreadable " + u);

        files.Length.Should().BeGreaterThan(400, "the corpus has 447 files");
        frames.Should().BeGreaterThan(5000);
        ipParsed.Should().BeGreaterThan(ipFrames * 8 / 10, "well-formed IP is the bulk of the captures even in tcpdump's fuzz corpus");
        tunnels.Should().BeGreaterThan(0, "the corpus has VXLAN and GRE captures");
        innerParsed.Should().BeGreaterThan(tunnels / 2);
        unreadable.Count.Should().BeLessThan(files.Length / 10, "only a few files are deliberately cut or oversized");
        outerDrops.Should().ContainKey(DropReason.UnsupportedEtherType.Name(), "the corpus has STP, CDP, LLDP …");
    }

    private static void Count(SortedDictionary<string, int> counts, DropReason reason)
    {
        string name = reason.Name();
        counts[name] = counts.GetValueOrDefault(name) + 1;
    }
}
