// Applies a small policy through the packaged Offload API in a generic host and prints results a test can check.
using System.Buffers.Binary;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Offload;
using Offload.Datapath;
using Offload.Hosting;
using Offload.Packets;
using Offload.Policy;

const string PolicyYaml = """
    host: { name: host-a, underlay: { ip: 192.0.2.10, mac: "02:00:00:00:0a:01" }, gatewayMac: "02:00:00:00:ff:fe" }
    networks:
      - { name: blue, vni: 100, cidr: 10.1.0.0/16, tunnel: vxlan }
    ports:
      - { name: vm1, network: blue, mac: "02:00:00:01:00:01", ip: 10.1.0.1, host: host-a }
      - { name: vm2, network: blue, mac: "02:00:00:01:00:02", ip: 10.1.0.2, host: host-a }
    acl:
      mode: deny-list
      rules:
        - { priority: 100, action: deny, direction: egress, network: blue, src: 10.1.0.0/16, dst: 10.1.0.0/16, protocol: tcp, dstPorts: "22" }
    """;

var loaded = PolicyLoader.Load(PolicyYaml);
if (loaded.Snapshot is null)
{
    foreach (var error in loaded.Errors)
        Console.Error.WriteLine(error);
    return 1;
}

var sink = new LastResultSink();
var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
builder.Services.AddOffload(o =>
{
    o.Policy = loaded.Snapshot;
    o.FlowCapacity = 1024;
}).UseFrameSink(sink);
using var host = builder.Build();
await host.StartAsync();

var runtime = host.Services.GetRequiredService<OffloadRuntime>();
ushort vm1 = runtime.Ports.TryGet("vm1", out var p1) ? p1 : (ushort)0;
ushort vm2 = runtime.Ports.TryGet("vm2", out var p2) ? p2 : (ushort)0;
var mac1 = MacAddress.Parse("02:00:00:01:00:01");
var mac2 = MacAddress.Parse("02:00:00:01:00:02");

Send("udp vm1->vm2", vm1, Frames.Udp(mac1, mac2, "10.1.0.1", 5000, "10.1.0.2", 53));
Send("udp vm2->vm1", vm2, Frames.Udp(mac2, mac1, "10.1.0.2", 53, "10.1.0.1", 5000));
// Denied by the ACL: the drop is installed as a drop flow, so flows = 2 (the UDP connection, both ways) + 1.
Send("tcp vm1->vm2:22", vm1, Frames.TcpSyn(mac1, mac2, "10.1.0.1", 40000, "10.1.0.2", 22));

var stats = runtime.GetStats();
Console.WriteLine($"stats: frames={stats.Frames} fast={stats.FastPathFrames} slow={stats.SlowPathFrames} connections={stats.Connections} flows={stats.Flows}");
Console.WriteLine($"backend={runtime.BackendName} slowpath={runtime.SlowPathName}");
Console.WriteLine($"kernel-assembly={typeof(Offload.Kernel.Netlink.NetlinkConstants).Assembly.GetName().Name}");
Console.WriteLine($"doca-assembly={(File.Exists(Path.Combine(AppContext.BaseDirectory, "Offload.Doca.dll")) ? "present" : "missing")}");
Console.WriteLine($"doca-shim={(File.Exists(Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "liboffload_doca.so")) ? "present" : "missing")}");
await host.StopAsync();
return 0;

void Send(string label, ushort port, byte[] frame)
{
    runtime.Process([new InputFrame(PacketBuffer.CopyOf(frame), port)]);
    var r = sink.Last;
    string outPort = r.Verdict == Offload.Actions.ActionVerdict.Output ? runtime.Ports.NameOf(r.OutPort) ?? "?" : "-";
    string reason = r.Verdict == Offload.Actions.ActionVerdict.Drop ? r.Reason.Name() : "-";
    Console.WriteLine($"{label}: verdict={r.Verdict} out={outPort} path={r.Path} reason={reason}");
}

internal sealed class LastResultSink : IFrameSink
{
    public FrameResult Last { get; private set; }

    public void OnFrame(in FrameResult result, ReadOnlySpan<byte> frame) => Last = result;
}

// Ethernet + IPv4 + UDP/TCP, with the IPv4 header checksum and the TCP checksum (UDP's may be zero over IPv4).
internal static class Frames
{
    public static byte[] Udp(MacAddress src, MacAddress dst, string srcIp, ushort sport, string dstIp, ushort dport)
    {
        var l4 = new byte[8 + 16];
        BinaryPrimitives.WriteUInt16BigEndian(l4, sport);
        BinaryPrimitives.WriteUInt16BigEndian(l4.AsSpan(2), dport);
        BinaryPrimitives.WriteUInt16BigEndian(l4.AsSpan(4), (ushort)l4.Length);
        return Ip(src, dst, srcIp, dstIp, 17, l4);
    }

    public static byte[] TcpSyn(MacAddress src, MacAddress dst, string srcIp, ushort sport, string dstIp, ushort dport)
    {
        var l4 = new byte[20];
        BinaryPrimitives.WriteUInt16BigEndian(l4, sport);
        BinaryPrimitives.WriteUInt16BigEndian(l4.AsSpan(2), dport);
        BinaryPrimitives.WriteUInt32BigEndian(l4.AsSpan(4), 1000);
        l4[12] = 5 << 4;
        l4[13] = 0x02; // SYN
        BinaryPrimitives.WriteUInt16BigEndian(l4.AsSpan(14), 65535);
        var pseudo = new byte[12 + l4.Length];
        NetAddress.Parse(srcIp).WriteTo(pseudo);
        NetAddress.Parse(dstIp).WriteTo(pseudo.AsSpan(4));
        pseudo[9] = 6;
        BinaryPrimitives.WriteUInt16BigEndian(pseudo.AsSpan(10), (ushort)l4.Length);
        l4.CopyTo(pseudo, 12);
        BinaryPrimitives.WriteUInt16BigEndian(l4.AsSpan(16), Checksum(pseudo));
        return Ip(src, dst, srcIp, dstIp, 6, l4);
    }

    private static byte[] Ip(MacAddress src, MacAddress dst, string srcIp, string dstIp, byte protocol, byte[] l4)
    {
        var f = new byte[14 + 20 + l4.Length];
        dst.WriteTo(f);
        src.WriteTo(f.AsSpan(6));
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(12), 0x0800);
        var ip = f.AsSpan(14, 20);
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip.Slice(2), (ushort)(20 + l4.Length));
        ip[8] = 64;
        ip[9] = protocol;
        NetAddress.Parse(srcIp).WriteTo(ip.Slice(12));
        NetAddress.Parse(dstIp).WriteTo(ip.Slice(16));
        BinaryPrimitives.WriteUInt16BigEndian(ip.Slice(10), Checksum(ip));
        l4.CopyTo(f, 34);
        return f;
    }

    private static ushort Checksum(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        for (int i = 0; i + 1 < data.Length; i += 2)
            sum += BinaryPrimitives.ReadUInt16BigEndian(data.Slice(i));
        if ((data.Length & 1) != 0)
            sum += (uint)data[^1] << 8;
        while (sum > 0xFFFF)
            sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)~sum;
    }
}
