using System.Buffers.Binary;
using Microsoft.Extensions.Time.Testing;
using Offload.Datapath;
using Offload.Packets;
using Offload.Policy;
using Offload.Switching;
using Offload.Tests.Datapath;

namespace Offload.Tests.Switching;

/// <summary>host-a of a two-host cloud, with the in-process policy slow path.</summary>
internal sealed class SwitchTestBed : IDisposable
{
    public const string PolicyYaml = """
        host: { name: host-a, underlay: { ip: 192.0.2.10, mac: "02:00:00:00:0a:01" }, gatewayMac: "02:00:00:00:ff:fe", uplink: eth1 }
        hosts:
          - { name: host-b, underlay: { ip: 192.0.2.11, mac: "02:00:00:00:0b:01" } }
        networks:
          - { name: blue, vni: 100, cidr: 10.1.0.0/16, tunnel: vxlan }
          - { name: red, vni: 200, cidr: 10.2.0.0/16, tunnel: gre }
          - { name: green, vni: 300, cidr: 10.3.0.0/16, tunnel: vxlan }
        peerings: [ [blue, red] ]
        ports:
          - { name: vm1, network: blue, mac: "02:00:00:01:00:01", ip: 10.1.0.1, host: host-a }
          - { name: vm2, network: blue, mac: "02:00:00:01:00:02", ip: 10.1.0.2, host: host-a }
          - { name: vm3, network: blue, mac: "02:00:00:01:00:03", ip: 10.1.0.3, host: host-b }
          - { name: vm4, network: red, mac: "02:00:00:02:00:04", ip: 10.2.0.4, host: host-b }
          - { name: vm5, network: red, mac: "02:00:00:02:00:05", ip: 10.2.0.5, host: host-a }
          - { name: vm6, network: green, mac: "02:00:00:03:00:06", ip: 10.3.0.6, host: host-a }
        acl:
          mode: deny-list
          rules:
            - { priority: 100, action: deny, direction: egress, network: blue, src: 10.1.0.0/24, dst: 10.1.0.0/16, protocol: tcp, dstPorts: "22" }
        securityGroups:
          - { name: web, ports: [vm2], inbound: deny, allowInbound: [ { protocol: tcp, dstPorts: "80,443" } ] }
        loadBalancers:
          - { name: web, network: blue, vip: 10.1.255.10, port: 80, protocol: tcp, algorithm: maglev, backends: [ { ip: 10.1.0.2, port: 80 }, { ip: 10.1.0.3, port: 80 } ] }
        snat:
          - { network: blue, publicIp: 203.0.113.5, ports: "1024-65535" }
        qos:
          - { port: vm5, rateMbps: 1, burstKb: 4 }
        """;

    public static readonly MacAddress Gateway = MacAddress.Parse("02:00:00:00:ff:fe");
    public static readonly MacAddress HostA = MacAddress.Parse("02:00:00:00:0a:01");
    public static readonly MacAddress HostB = MacAddress.Parse("02:00:00:00:0b:01");
    public static readonly MacAddress Vm1 = MacAddress.Parse("02:00:00:01:00:01");
    public static readonly MacAddress Vm2 = MacAddress.Parse("02:00:00:01:00:02");
    public static readonly MacAddress Vm3 = MacAddress.Parse("02:00:00:01:00:03");
    public static readonly MacAddress Vm4 = MacAddress.Parse("02:00:00:02:00:04");
    public static readonly MacAddress Vm5 = MacAddress.Parse("02:00:00:02:00:05");
    public static readonly MacAddress Vm6 = MacAddress.Parse("02:00:00:03:00:06");

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    public CollectingSink Sink { get; } = new();
    public VirtualSwitch Switch { get; }

    public SwitchTestBed(string? yaml = null)
    {
        Switch = new VirtualSwitch(Load(yaml ?? PolicyYaml), Sink, new VirtualSwitchOptions { Backend = new() { Capacity = 4096 } }, Time);
    }

    public static PolicySnapshot Load(string yaml)
    {
        var result = PolicyLoader.Load(yaml);
        result.Errors.Should().BeEmpty();
        return result.Snapshot!;
    }

    public ushort Port(string name) => Switch.Ports.TryGet(name, out var n) ? n : throw new KeyNotFoundException(name);

    /// <summary>Sends a frame from the named port ("uplink" included).</summary>
    public (FrameResult Result, byte[] Frame) From(string port, byte[] frame)
    {
        int before = Sink.Frames.Count;
        var input = new[] { new InputFrame(PacketBuffer.CopyOf(frame), Port(port), before) };
        Switch.Process(input);
        Sink.Frames.Count.Should().Be(before + 1);
        return Sink.Last;
    }

    public string? OutName(in FrameResult r) => r.Verdict == Offload.Actions.ActionVerdict.Output ? Switch.PortName(r.OutPort) : null;

    public static byte[] ArpRequest(MacAddress senderMac, string senderIp, string targetIp)
    {
        var f = new byte[42];
        MacAddress.Broadcast.WriteTo(f);
        senderMac.WriteTo(f.AsSpan(6));
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(12), EtherType.Arp);
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(14), 1);
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(16), EtherType.IPv4);
        f[18] = 6;
        f[19] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(20), 1);
        senderMac.WriteTo(f.AsSpan(22));
        NetAddress.Parse(senderIp).WriteTo(f.AsSpan(28));
        NetAddress.Parse(targetIp).WriteTo(f.AsSpan(38));
        return f;
    }

    public void Dispose() => Switch.Dispose();
}
