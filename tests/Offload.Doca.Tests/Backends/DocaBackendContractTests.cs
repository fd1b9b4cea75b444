using Offload.Backends;
using Offload.Backends.ContractTests;
using Offload.Doca.Backends;
using Offload.Doca.Tests.Flow;
using Offload.Flows;

namespace Offload.Doca.Tests.Backends;

/// <summary>The shared backend contract against <see cref="DocaBackend"/> on the emulator (generation from DOCA_EMU_GEN).</summary>
[Collection(EmulatorCollection.Name)]
public class DocaBackendContractTests : FlowBackendContractTests, IDisposable
{
    private const ushort VmPort = 1;
    private readonly List<ITimer> _clocks = new();

    public DocaBackendContractTests(EmulatorFixture fixture)
    {
        _ = fixture;
        EmulatorControl.Reset();
    }

    /// <summary>Runs the contract with Flow CT configured (flows without a connection stay plain entries behind it).</summary>
    protected virtual bool ConnectionTracking => false;

    public void Dispose()
    {
        GC.SuppressFinalize(this);
        foreach (ITimer t in _clocks)
            t.Dispose();
        EmulatorControl.EndTest("the backend must use DOCA in order (no use after remove)");
    }

    protected override FlowBackend CreateBackend(int capacity, int queueDepth, TimeProvider time)
    {
        // The emulator's aging clock follows the test's fake clock.
        DateTimeOffset start = time.GetUtcNow();
        EmulatorControl.SetTimeNs(1_000_000_000UL);
        _clocks.Add(time.CreateTimer(_ => EmulatorControl.SetTimeNs(1_000_000_000UL + (ulong)(time.GetUtcNow() - start).Ticks * 100UL),
            null, TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(100)));
        return new DocaBackend(new DocaBackendOptions
        {
            Ports = [new DocaIngressPort(VmPort, NetworkVni: 100)],
            MaxFlows = capacity,
            QueueDepth = queueDepth,
            ConnectionTracking = ConnectionTracking,
        });
    }

    protected override void SendThrough(FlowBackend backend, in FlowKey key, int bytes)
    {
        byte[] frame = TcpFrames.Tcp4(key.SrcIp.V4, key.DstIp.V4, key.SrcPort, key.DstPort, bytes);
        EmulatorControl.Inject(key.InPort, frame, out _, out _).Should().Be(EmulatorControl.PacketPort, "the flow is offloaded");
    }
}

/// <summary>The shared backend contract against <see cref="DocaBackend"/> with Flow CT configured.</summary>
[Collection(EmulatorCollection.Name)]
public sealed class DocaBackendWithConnectionTrackingContractTests(EmulatorFixture fixture) : DocaBackendContractTests(fixture)
{
    protected override bool ConnectionTracking => true;
}
