using Microsoft.Extensions.Time.Testing;
using Offload.Actions;
using Offload.Backends.Software;
using Offload.Datapath;
using Offload.Packets;

namespace Offload.Tests.Datapath;

/// <summary>
/// One host: vm1 (port 1) and vm2 (port 2) in network 100 (10.1.0.0/16), a remote vm3 (10.1.0.3)
/// behind the uplink (port 9) reached by VXLAN, and a VIP 10.1.255.10:80 → vm2:8080.
/// </summary>
internal sealed class DatapathTestBed : IDisposable
{
    public const ushort Vm1 = 1, Vm2 = 2, Uplink = 9;
    public const uint Vni = 100;
    public static readonly MacAddress HostMac = MacAddress.Parse("02:00:00:00:0a:01");
    public static readonly MacAddress RemoteHostMac = MacAddress.Parse("02:00:00:00:0b:01");
    public static readonly MacAddress Vm3Mac = MacAddress.Parse("02:00:00:01:00:03");

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    public StaticSlowPath Policy { get; } = new();
    public CollectingSink Sink { get; } = new();
    public SoftwareBackend Backend { get; }
    public Offload.Datapath.Datapath Datapath { get; }
    public EncapTemplate ToHostB { get; }

    public DatapathTestBed(ISlowPath? slowPath = null, DatapathOptions? options = null, int capacity = 1024, int queueDepth = 4096)
    {
        Backend = new SoftwareBackend(new SoftwareBackendOptions { Capacity = capacity, QueueDepth = queueDepth }, Time);
        Datapath = new Offload.Datapath.Datapath(options ?? new DatapathOptions(), slowPath ?? Policy, Backend, Sink, Time);
        Datapath.AddPort(Vm1, "vm1", Vni);
        Datapath.AddPort(Vm2, "vm2", Vni);
        Datapath.AddUplink(Uplink);
        ToHostB = new EncapTemplate(TunnelType.Vxlan, Vni, HostMac, RemoteHostMac, NetAddress.Parse("192.0.2.10"), NetAddress.Parse("192.0.2.11"));
        Policy.AddRoute(Vni, "10.1.0.1", new StaticSlowPath.Route(Vm1, TestFrames.Vm1Mac, TestFrames.GatewayMac, Vm1));
        Policy.AddRoute(Vni, "10.1.0.2", new StaticSlowPath.Route(Vm2, TestFrames.Vm2Mac, TestFrames.GatewayMac, Vm2));
        Policy.AddRoute(Vni, "10.1.0.3", new StaticSlowPath.Route(Uplink, Vm3Mac, TestFrames.GatewayMac, Uplink, ToHostB));
        Policy.VirtualIps[(NetAddress.Parse("10.1.255.10"), 80)] = (NetAddress.Parse("10.1.0.2"), 8080);
    }

    public (FrameResult Result, byte[] Frame) Send(ushort port, byte[] frame)
    {
        int before = Sink.Frames.Count;
        var input = new InputFrame(PacketBuffer.CopyOf(frame), port, cookie: before);
        Datapath.Process(ref input);
        Sink.Frames.Count.Should().Be(before + 1, "every frame has exactly one result");
        return Sink.Last;
    }

    public void Dispose()
    {
        Datapath.Dispose();
        Backend.Dispose();
    }
}
