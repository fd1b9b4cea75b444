using System.Text.Json;

namespace Offload.Cli.Tests;

/// <summary><c>offload trace</c> on a hand-built policy and capture: the JSON Lines contract of SPEC "The CLI".</summary>
public sealed class TraceCommandTests : IDisposable
{
    internal const string Gw = "02:00:00:00:ff:fe";
    internal const string Vm1Mac = "02:00:00:01:00:01";
    internal const string Vm2Mac = "02:00:00:01:00:02";

    internal const string Policy = """
        host: { name: host-a, underlay: { ip: 192.0.2.10, mac: "02:00:00:00:0a:01" }, gatewayMac: "02:00:00:00:ff:fe" }
        hosts:
          - { name: host-b, underlay: { ip: 192.0.2.11, mac: "02:00:00:00:0b:01" } }
        networks:
          - { name: blue, vni: 100, cidr: 10.1.0.0/16, tunnel: vxlan }
          - { name: red,  vni: 200, cidr: 10.2.0.0/16, tunnel: gre }
        peerings: [ [blue, red] ]
        ports:
          - { name: vm1, network: blue, mac: "02:00:00:01:00:01", ip: 10.1.0.1, host: host-a }
          - { name: vm2, network: blue, mac: "02:00:00:01:00:02", ip: 10.1.0.2, host: host-a }
          - { name: vm3, network: blue, mac: "02:00:00:01:00:03", ip: 10.1.0.3, host: host-b }
          - { name: vm5, network: red,  mac: "02:00:00:02:00:05", ip: 10.2.0.5, host: host-b }
        acl:
          rules:
            - { priority: 100, action: deny, direction: egress, network: blue, protocol: tcp, dstPorts: "22" }
        loadBalancers:
          - { name: web, network: blue, vip: 10.1.255.10, port: 80, protocol: tcp, backends: [ { ip: 10.1.0.2, port: 8080 } ] }
        """;

    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>The capture: frame i is described by the comment on its line.</summary>
    internal static List<byte[]> Frames() =>
    [
        TestFrames.Udp(Vm1Mac, Vm2Mac, "10.1.0.1", 5000, "10.1.0.2", 53),         // 0 first packet: slow, deliver vm2
        TestFrames.Udp(Vm1Mac, Vm2Mac, "10.1.0.1", 5000, "10.1.0.2", 53),         // 1 same flow: fast
        TestFrames.Udp(Vm2Mac, Vm1Mac, "10.1.0.2", 53, "10.1.0.1", 5000),         // 2 reply: fast, REPLIED
        TestFrames.TcpSyn(Vm1Mac, Gw, "10.1.0.1", 40000, "10.1.0.3", 80),         // 3 remote VM: VXLAN out of the uplink
        TestFrames.TcpSyn(Vm1Mac, Gw, "10.1.0.1", 40001, "10.1.255.10", 80),      // 4 VIP: DNAT to vm2:8080
        TestFrames.TcpSyn(Vm1Mac, Vm2Mac, "10.1.0.1", 40002, "10.1.0.2", 22),     // 5 ACL deny
        TestFrames.ArpRequest(Vm1Mac, "10.1.0.1", "10.1.0.2"),                    // 6 ARP: answered
        TestFrames.Udp("02:00:00:99:99:99", Gw, "10.9.9.9", 1, "10.1.0.2", 53),   // 7 nobody's MAC: unknown-port
        TestFrames.Udp(Vm1Mac, Gw, "10.1.0.1", 6000, "10.2.0.5", 6000),           // 8 peered network on host-b: GRE
    ];

    private (string Policy, string Pcap) Inputs()
    {
        string pcap = _dir.File("in.pcap");
        TestFrames.WritePcap(pcap, Frames());
        return (_dir.File("policy.yaml", Policy), pcap);
    }

    private List<JsonElement> TraceJson(params string[] extra)
    {
        var (policy, pcap) = Inputs();
        var (code, output, err) = OffloadProcess.Run(["trace", "--policy", policy, "--pcap", pcap, "--json", .. extra]);
        code.Should().Be(0, err);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Should().HaveCount(Frames().Count, "one JSON object per input frame");
        return lines.Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
    }

    private static string? Str(JsonElement e, string name) => e.GetProperty(name).ValueKind == JsonValueKind.Null ? null : e.GetProperty(name).GetString();

    [Fact]
    public void Trace_Json_OneObjectPerFrameInOrderWithTheSpecFields()
    {
        var results = TraceJson();
        for (int i = 0; i < results.Count; i++)
        {
            results[i].GetProperty("index").GetInt32().Should().Be(i);
            foreach (string field in new[] { "inPort", "key", "path", "verdict", "outPort", "out", "encap", "ctState", "ctTimeout", "reason" })
                results[i].TryGetProperty(field, out _).Should().BeTrue($"frame {i} has '{field}'");
        }
        var key = results[0].GetProperty("key");
        key.GetProperty("srcIp").GetString().Should().Be("10.1.0.1");
        key.GetProperty("srcPort").GetInt32().Should().Be(5000);
        key.GetProperty("dstIp").GetString().Should().Be("10.1.0.2");
        key.GetProperty("dstPort").GetInt32().Should().Be(53);
        key.GetProperty("proto").GetString().Should().Be("udp");
        key.GetProperty("inPort").GetString().Should().Be("vm1");
        key.GetProperty("vni").GetInt32().Should().Be(100);
    }

    [Fact]
    public void Trace_Json_FirstPacketSlowThenFastAndConntrackStates()
    {
        var r = TraceJson();
        Str(r[0], "path").Should().Be("slow");
        Str(r[0], "verdict").Should().Be("deliver");
        Str(r[0], "outPort").Should().Be("vm2");
        Str(r[0], "inPort").Should().Be("vm1");
        Str(r[0], "ctState").Should().Be("UNREPLIED");
        r[0].GetProperty("ctTimeout").GetInt32().Should().BeGreaterThan(0);
        Str(r[0].GetProperty("out"), "dstMac").Should().Be(Vm2Mac, "delivery writes the receiving VM's MAC");
        r[0].GetProperty("encap").ValueKind.Should().Be(JsonValueKind.Null);
        r[0].GetProperty("reason").ValueKind.Should().Be(JsonValueKind.Null);

        Str(r[1], "path").Should().Be("fast", "the flow was installed by the first packet");
        Str(r[2], "path").Should().Be("fast", "the reply direction was installed with the first packet");
        Str(r[2], "verdict").Should().Be("deliver");
        Str(r[2], "outPort").Should().Be("vm1");
        Str(r[2], "ctState").Should().Be("REPLIED");
        Str(r[3], "ctState").Should().Be("SYN_SENT");
    }

    [Fact]
    public void Trace_Json_RemoteVmIsForwardedEncapsulated()
    {
        var r = TraceJson();
        Str(r[3], "verdict").Should().Be("forward");
        Str(r[3], "outPort").Should().Be("uplink");
        var encap = r[3].GetProperty("encap");
        Str(encap, "type").Should().Be("vxlan");
        encap.GetProperty("vni").GetInt32().Should().Be(100);
        Str(encap, "outerSrc").Should().Be("192.0.2.10");
        Str(encap, "outerDst").Should().Be("192.0.2.11");
        Str(encap, "outerDstMac").Should().Be("02:00:00:00:0b:01");
        Str(r[3].GetProperty("out"), "dstIp").Should().Be("10.1.0.3", "out shows the inner headers");

        var gre = r[8].GetProperty("encap");
        Str(gre, "type").Should().Be("gre", "the destination network (red) tunnels with GRE");
        gre.GetProperty("vni").GetInt32().Should().Be(200);
    }

    [Fact]
    public void Trace_Json_VipIsDnatedToTheBackend()
    {
        var r = TraceJson();
        Str(r[4].GetProperty("key"), "dstIp").Should().Be("10.1.255.10");
        Str(r[4], "verdict").Should().Be("deliver");
        Str(r[4], "outPort").Should().Be("vm2");
        var o = r[4].GetProperty("out");
        Str(o, "dstIp").Should().Be("10.1.0.2");
        o.GetProperty("dstPort").GetInt32().Should().Be(8080);
        Str(o, "srcIp").Should().Be("10.1.0.1");
    }

    [Fact]
    public void Trace_Json_DropsCarryTheirReason()
    {
        var r = TraceJson();
        Str(r[5], "verdict").Should().Be("drop");
        Str(r[5], "reason").Should().Be("acl");
        r[5].GetProperty("out").ValueKind.Should().Be(JsonValueKind.Null);
        r[5].GetProperty("outPort").ValueKind.Should().Be(JsonValueKind.Null);

        Str(r[7], "reason").Should().Be("unknown-port");
        r[7].GetProperty("inPort").ValueKind.Should().Be(JsonValueKind.Null);
    }

    [Fact]
    public void Trace_Json_ArpRequestIsAnsweredToTheAskingPort()
    {
        var r = TraceJson();
        Str(r[6], "verdict").Should().Be("deliver");
        Str(r[6], "outPort").Should().Be("vm1");
        Str(r[6], "response").Should().Be("arp-reply");
        var o = r[6].GetProperty("out");
        Str(o, "srcMac").Should().Be(Vm2Mac, "the switch answers with vm2's MAC");
        Str(o, "dstMac").Should().Be(Vm1Mac);
        Str(o, "srcIp").Should().Be("10.1.0.2");
    }

    [Fact]
    public void Trace_Out_WritesEverySentFrameToAPcapThatTsharkReads()
    {
        const string tshark = "/usr/bin/tshark";
        File.Exists(tshark).Should().BeTrue($"tshark is needed at {tshark} to check the --out capture (apt-get install tshark)");
        string output = _dir.File("out.pcap");
        var results = TraceJson("--out", output);
        int sent = results.Count(e => Str(e, "verdict") != "drop");
        sent.Should().Be(7);

        var (code, text, err) = OffloadProcess.Tool(tshark, "-r", output);
        code.Should().Be(0, err);
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().HaveCount(sent);
        OffloadProcess.Tool(tshark, "-r", output, "-Y", "vxlan").Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().ContainSingle();
        OffloadProcess.Tool(tshark, "-r", output, "-Y", "gre").Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().ContainSingle();
        OffloadProcess.Tool(tshark, "-r", output, "-Y", "arp.opcode == 2").Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().ContainSingle();
    }

    [Fact]
    public void Trace_Text_OneLinePerFrame()
    {
        var (policy, pcap) = Inputs();
        var (code, output, err) = OffloadProcess.Run("trace", "--policy", policy, "--pcap", pcap);
        code.Should().Be(0, err);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Should().HaveCount(Frames().Count);
        lines[0].Should().Contain("vm1").And.Contain("udp 10.1.0.1:5000 > 10.1.0.2:53").And.Contain("slow deliver vm2").And.Contain("UNREPLIED");
        lines[5].Should().Contain("drop acl");
        lines[3].Should().Contain("vxlan vni 100");
    }

    [Fact]
    public void Trace_InvalidPolicy_ExitsOneWithThePathOnTheFirstLine()
    {
        string pcap = _dir.File("in.pcap");
        TestFrames.WritePcap(pcap, Frames());
        string policy = _dir.File("bad.yaml", Policy.Replace("ip: 10.1.0.2, port: 8080", "ip: 10.1.0.2, port: 0", StringComparison.Ordinal)
            .Replace("vni: 200", "vni: 100", StringComparison.Ordinal));
        var (code, output, err) = OffloadProcess.Run("trace", "--policy", policy, "--pcap", pcap, "--json");
        code.Should().Be(1);
        output.Should().BeEmpty();
        var lines = err.Trim().Split('\n');
        lines[0].Should().StartWith($"offload: policy {policy} is invalid: ");
        lines.Length.Should().BeGreaterThan(1, "every error is listed, the first on the 'offload:' line");
        err.Should().Contain("networks[1].vni").And.Contain("loadBalancers[0].backends[0].port");
    }

    [Fact]
    public void Trace_DamagedCapture_ExitsOneWithOneLine()
    {
        string pcap = _dir.File("bad.pcap", "this is not a pcap file at all");
        var (code, _, err) = OffloadProcess.Run("trace", "--policy", _dir.File("policy.yaml", Policy), "--pcap", pcap);
        code.Should().Be(1);
        err.Trim().Split('\n').Should().ContainSingle().Which.Should().StartWith("offload: cannot read capture");
    }
}
