using System.Buffers.Binary;
using System.Diagnostics;
using Offload.Actions;
using Offload.Packets;
using Offload.Tests.TestSupport;

namespace Offload.Tests.Actions;

/// <summary>
/// Wireshark as an independent oracle: rewritten frames are written to a classic pcap and tshark must
/// validate every IP, TCP, UDP, ICMP and ICMPv6 checksum it finds, outer and inner (VXLAN/GRE decoded).
/// </summary>
public class TsharkChecksumTests
{
    private const string Tshark = "/usr/bin/tshark";
    private const string Good = "1";

    private sealed record Case(string Name, byte[] Frame, int Ip, int Tcp, int Udp, int Icmp, int Icmpv6, int UdpWithoutChecksum = 0);

    [Fact]
    public void RewrittenFrames_AllChecksumsGoodInTshark()
    {
        File.Exists(Tshark).Should().BeTrue($"this test needs Wireshark's tshark at {Tshark} (apt-get install tshark)");
        var cases = BuildCases();
        string path = Path.Combine(Path.GetTempPath(), $"offload-actions-{Guid.NewGuid():N}.pcap");
        try
        {
            WritePcap(path, cases.Select(c => c.Frame));
            var lines = RunTshark(path, "-e", "frame.number", "-e", "ip.checksum.status", "-e", "tcp.checksum.status",
                "-e", "udp.checksum.status", "-e", "udp.checksum", "-e", "icmp.checksum.status", "-e", "icmpv6.checksum.status",
                "-e", "vxlan.vni", "-e", "gre.key");
            lines.Should().HaveCount(cases.Count);
            for (int i = 0; i < cases.Count; i++)
            {
                var c = cases[i];
                var cols = lines[i].Split('\t');
                cols[0].Should().Be((i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture));
                AllGood(cols[1], c.Ip, c.Name + " ip");
                AllGood(cols[2], c.Tcp, c.Name + " tcp");
                AllGood(cols[5], c.Icmp, c.Name + " icmp");
                AllGood(cols[6], c.Icmpv6, c.Name + " icmpv6");
                var udpStatus = Split(cols[3]);
                var udpChecksum = Split(cols[4]);
                udpStatus.Should().HaveCount(c.Udp, c.Name + " udp layers");
                int without = 0;
                for (int k = 0; k < udpStatus.Length; k++)
                {
                    if (Convert.ToUInt16(udpChecksum[k], 16) == 0)
                    {
                        without++;
                        udpStatus[k].Should().NotBe("0", c.Name + " zero UDP checksum is 'none', never bad");
                    }
                    else
                    {
                        udpStatus[k].Should().Be(Good, $"{c.Name} udp layer {k} checksum {udpChecksum[k]}");
                    }
                }
                without.Should().Be(c.UdpWithoutChecksum, c.Name + " UDP layers without checksum");
                // The tunnel layers were decoded, so the inner checksums above really were checked.
                cols[7].Should().Be(c.Name.StartsWith("vxlan", StringComparison.Ordinal) ? "100" : "", c.Name + " vni");
                cols[8].Should().Be(c.Name.StartsWith("gre", StringComparison.Ordinal) ? "0x000000c8" : "", c.Name + " gre key");
            }

        }
        finally
        {
            File.Delete(path);
        }
    }

    private static List<Case> BuildCases()
    {
        var nat = Exec.Output(b => b.ApplyNat());
        var natTtl = Exec.Output(b => b.ApplyNat().DecrementTtl());
        var snat4 = NatRewrite.Source(NetAddress.Parse("203.0.113.5"), 61000);
        var dnat4 = NatRewrite.Destination(NetAddress.Parse("10.1.0.3"), 8080);
        var snat6 = NatRewrite.Source(NetAddress.Parse("2001:db8:ffff::5"), 61000);
        var dnat6 = NatRewrite.Destination(NetAddress.Parse("fd00:1::3"), 5353);
        byte[] Run(ActionProgram p, NatRewrite n, byte[] f)
        {
            var r = Exec.Run(p, n, f);
            r.Outcome.Verdict.Should().Be(ActionVerdict.Output);
            return r.Bytes;
        }
        byte[] Encap(TunnelType t, bool v6, NatRewrite n, byte[] f) =>
            Run(Exec.Output(b => b.ApplyNat().Encapsulate(TunnelTests.Template(t, v6, vni: t == TunnelType.Vxlan ? 100u : 200u))), n, f);

        var vm = NetAddress.Parse("10.1.0.1");
        var pub = NetAddress.Parse("203.0.113.5");
        var server = NetAddress.Parse("198.51.100.7");
        var router = NetAddress.Parse("198.51.100.1");
        var quoted = FrameBuilder.Ip(pub, server, 17, FrameBuilder.Udp(pub, server, 40000, 53, FrameBuilder.Payload(12)));
        var icmpError = FrameBuilder.IpFrame(router, pub, 1, FrameBuilder.Icmp(router, pub, 3, 3, 0, quoted));

        return
        [
            new("snat ipv4 tcp", Run(nat, snat4, FrameBuilder.TcpFrame("10.1.0.1", 40000, "198.51.100.7", 443)), 1, 1, 0, 0, 0),
            new("dnat ipv4 tcp", Run(natTtl, dnat4, FrameBuilder.TcpFrame("198.51.100.7", 5555, "10.1.255.10", 80)), 1, 1, 0, 0, 0),
            new("dnat ipv4 udp", Run(nat, dnat4, FrameBuilder.UdpFrame("198.51.100.7", 5353, "203.0.113.5", 1024)), 1, 0, 1, 0, 0),
            new("snat ipv4 udp no checksum", Run(nat, snat4, FrameBuilder.UdpFrame("10.1.0.1", 5353, "198.51.100.7", 53, withChecksum: false)), 1, 0, 1, 0, 0, 1),
            new("snat ipv6 tcp", Run(nat, snat6, FrameBuilder.TcpFrame("fd00:1::1", 40000, "2001:db8::7", 443)), 0, 1, 0, 0, 0),
            new("dnat ipv6 udp", Run(natTtl, dnat6, FrameBuilder.UdpFrame("2001:db8::7", 5000, "fd00:ffff::10", 53)), 0, 0, 1, 0, 0),
            new("snat icmp echo", Run(nat, snat4, FrameBuilder.EchoFrame("10.1.0.1", "198.51.100.7", 0x4242)), 1, 0, 0, 1, 0),
            new("snat icmpv6 echo", Run(nat, snat6, FrameBuilder.EchoFrame("fd00:1::1", "2001:db8::7", 0x4242)), 0, 0, 0, 0, 1),
            new("dnat icmp error", Run(nat, NatRewrite.Destination(vm, 1234), icmpError), 2, 0, 1, 1, 0),
            new("vxlan4 snat tcp", Encap(TunnelType.Vxlan, false, snat4, FrameBuilder.TcpFrame("10.1.0.1", 40000, "198.51.100.7", 443)), 2, 1, 1, 0, 0, 1),
            new("vxlan6 udp", Encap(TunnelType.Vxlan, true, default, FrameBuilder.UdpFrame("10.1.0.1", 5000, "10.1.0.3", 53)), 1, 0, 2, 0, 0),
            new("vxlan6 dnat ipv6 tcp", Encap(TunnelType.Vxlan, true, NatRewrite.Destination(NetAddress.Parse("fd00:1::3"), 8443),
                FrameBuilder.TcpFrame("2001:db8::7", 5555, "fd00:ffff::10", 443)), 0, 1, 1, 0, 0),
            new("gre4 tcp", Encap(TunnelType.Gre, false, dnat4, FrameBuilder.TcpFrame("198.51.100.7", 5555, "10.1.255.10", 80)), 2, 1, 0, 0, 0),
            new("gre6 ipv6 udp", Encap(TunnelType.Gre, true, dnat6, FrameBuilder.UdpFrame("2001:db8::7", 5000, "fd00:ffff::10", 53)), 0, 0, 1, 0, 0),
        ];
    }

    private static void AllGood(string column, int expectedCount, string because)
    {
        var values = Split(column);
        values.Should().HaveCount(expectedCount, because + " layers decoded");
        values.Where(v => v != Good).Should().BeEmpty(because + " checksums all Good (1)");
    }

    private static string[] Split(string column) =>
        column.Length == 0 ? [] : column.Split(',');

    private static List<string> RunTshark(string pcap, params string[] fields)
    {
        var psi = new ProcessStartInfo(Tshark)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "-r", pcap, "-n", "-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
                     "-o", "udp.check_checksum:TRUE", "-T", "fields", "-E", "aggregator=," })
            psi.ArgumentList.Add(a);
        foreach (var f in fields)
            psi.ArgumentList.Add(f);
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("tshark did not start");
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit(60_000).Should().BeTrue("tshark finishes");
        process.ExitCode.Should().Be(0, "tshark succeeds: " + stderr.Result);
        return stdout.Split('\n', StringSplitOptions.None).Where(l => l.Length > 0).ToList();
    }

    /// <summary>Classic libpcap format: 24-byte global header, 16-byte record headers, Ethernet link type.</summary>
    private static void WritePcap(string path, IEnumerable<byte[]> frames)
    {
        using var file = File.Create(path);
        Span<byte> header = stackalloc byte[24];
        BinaryPrimitives.WriteUInt32LittleEndian(header, 0xa1b2c3d4);
        BinaryPrimitives.WriteUInt16LittleEndian(header.Slice(4), 2);
        BinaryPrimitives.WriteUInt16LittleEndian(header.Slice(6), 4);
        BinaryPrimitives.WriteInt32LittleEndian(header.Slice(8), 0);
        BinaryPrimitives.WriteUInt32LittleEndian(header.Slice(12), 0);
        BinaryPrimitives.WriteUInt32LittleEndian(header.Slice(16), 65535);
        BinaryPrimitives.WriteUInt32LittleEndian(header.Slice(20), 1);
        file.Write(header);
        uint second = 1_700_000_000;
        Span<byte> record = stackalloc byte[16];
        foreach (var frame in frames)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(record, second++);
            BinaryPrimitives.WriteUInt32LittleEndian(record.Slice(4), 0);
            BinaryPrimitives.WriteUInt32LittleEndian(record.Slice(8), (uint)frame.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(record.Slice(12), (uint)frame.Length);
            file.Write(record);
            file.Write(frame);
        }
    }
}
