using Offload.Backends;
using Offload.Backends.ContractTests;
using Offload.Backends.Software;
using Offload.Doca.Backends;
using Offload.Doca.Tests.Flow;
using Offload.Flows;

namespace Offload.Doca.Tests.Backends;

/// <summary>The shared backend contract against <see cref="ResilientOffloadBackend"/> (DOCA emulator + software).</summary>
[Collection(EmulatorCollection.Name)]
public sealed class ResilientOffloadContractTests : FlowBackendContractTests, IDisposable
{
    private const ushort VmPort = 1;
    private readonly List<ITimer> _clocks = new();

    public ResilientOffloadContractTests(EmulatorFixture fixture)
    {
        _ = fixture;
        EmulatorControl.Reset();
    }

    public void Dispose()
    {
        foreach (ITimer t in _clocks)
            t.Dispose();
        EmulatorControl.EndTest("the backend must use DOCA in order");
    }

    protected override FlowBackend CreateBackend(int capacity, int queueDepth, TimeProvider time)
    {
        DateTimeOffset start = time.GetUtcNow();
        EmulatorControl.SetTimeNs(1_000_000_000UL);
        _clocks.Add(time.CreateTimer(_ => EmulatorControl.SetTimeNs(1_000_000_000UL + (ulong)(time.GetUtcNow() - start).Ticks * 100UL),
            null, TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(100)));
        return new ResilientOffloadBackend(
            new DocaBackend(new DocaBackendOptions { Ports = [new DocaIngressPort(VmPort, NetworkVni: 100)], MaxFlows = capacity, QueueDepth = 64 }),
            new SoftwareBackend(new SoftwareBackendOptions { Capacity = capacity, QueueDepth = queueDepth }, time),
            new ResilientOffloadOptions { QueueDepth = queueDepth }, time);
    }

    protected override void SendThrough(FlowBackend backend, in FlowKey key, int bytes)
    {
        var resilient = (ResilientOffloadBackend)backend;
        resilient.GetPlacement(key, out var placement).Should().BeTrue();
        if (placement.Placement == FlowPlacement.Hardware)
        {
            byte[] frame = TcpFrames.Tcp4(key.SrcIp.V4, key.DstIp.V4, key.SrcPort, key.DstPort, bytes);
            EmulatorControl.Inject(key.InPort, frame, out _, out _).Should().Be(EmulatorControl.PacketPort);
        }
        else
        {
            resilient.Software.TryLookup(key, out int handle, out _).Should().BeTrue();
            resilient.Software.RecordHit(handle, bytes, Time.GetTimestamp());
        }
    }
}
