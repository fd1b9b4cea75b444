using Offload.Actions;
using Offload.Packets;

namespace Offload.Cli.Demo;

/// <summary>The demo host: network "blue" (VNI 100, 10.1.0.0/16) with vm1 and vm2 here and vm3 on host-b.</summary>
internal sealed class DemoTopology
{
    public const ushort Vm1Port = 1, Vm2Port = 2, UplinkPort = 9;
    public const uint Vni = 100;

    public sealed record Destination(string Name, ushort Port, MacAddress Mac, EncapTemplate? Encap);

    public MacAddress GatewayMac { get; } = MacAddress.Parse("02:00:00:00:ff:fe");
    public MacAddress HostMac { get; } = MacAddress.Parse("02:00:00:00:0a:01");
    public MacAddress HostBMac { get; } = MacAddress.Parse("02:00:00:00:0b:01");
    public NetAddress HostIp { get; } = NetAddress.Parse("192.0.2.10");
    public NetAddress HostBIp { get; } = NetAddress.Parse("192.0.2.11");

    public NetAddress Vm1 { get; } = NetAddress.Parse("10.1.0.1");
    public NetAddress Vm2 { get; } = NetAddress.Parse("10.1.0.2");
    public NetAddress Vm3 { get; } = NetAddress.Parse("10.1.0.3");
    public MacAddress Vm1Mac { get; } = MacAddress.Parse("02:00:00:01:00:01");
    public MacAddress Vm2Mac { get; } = MacAddress.Parse("02:00:00:01:00:02");
    public MacAddress Vm3Mac { get; } = MacAddress.Parse("02:00:00:01:00:03");

    public NetAddress Vip { get; } = NetAddress.Parse("10.1.255.10");
    public ushort VipPort => 80;
    public (NetAddress Ip, ushort Port)[] VipBackends { get; }

    private readonly Dictionary<NetAddress, Destination> _routes;

    public DemoTopology()
    {
        VipBackends = [(Vm1, 8080), (Vm2, 8080)];
        var toHostB = new EncapTemplate(TunnelType.Vxlan, Vni, HostMac, HostBMac, HostIp, HostBIp);
        _routes = new()
        {
            [Vm1] = new("vm1", Vm1Port, Vm1Mac, null),
            [Vm2] = new("vm2", Vm2Port, Vm2Mac, null),
            [Vm3] = new("vm3", UplinkPort, Vm3Mac, toHostB),
        };
    }

    public bool TryRoute(NetAddress ip, out Destination destination) => _routes.TryGetValue(ip, out destination!);
}
