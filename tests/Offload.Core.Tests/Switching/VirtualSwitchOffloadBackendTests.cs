using Microsoft.Extensions.Time.Testing;
using Offload.Backends;
using Offload.Backends.Software;
using Offload.Flows;
using Offload.Switching;
using Offload.Tests.Datapath;
using static Offload.Tests.Switching.SwitchTestBed;

namespace Offload.Tests.Switching;

public class VirtualSwitchOffloadBackendTests
{
    // Shaped like a hardware backend: flows are installed through it, its software part is the host table.
    private sealed class WrappingBackend(SoftwareBackend inner) : FlowBackend
    {
        public int Submits { get; private set; }
        public bool Disposed { get; private set; }
        public override string Name => "wrapped";
        public override BackendCapabilities Capabilities => inner.Capabilities;
        public override int Count => inner.Count;
        public override SoftwareBackend? HostTable => inner;

        public override SubmitStatus TrySubmit(in FlowOperation operation)
        {
            Submits++;
            return inner.TrySubmit(operation);
        }

        public override int PollCompletions(Span<FlowCompletion> completions) => inner.PollCompletions(completions);
        public override bool TryQueryCounters(in FlowKey key, out FlowStats stats) => inner.TryQueryCounters(key, out stats);

        protected override void Dispose(bool disposing)
        {
            Disposed = true;
            base.Dispose(disposing);
        }
    }

    [Fact]
    public void Process_OffloadBackendGiven_FlowsInstalledThroughItAndItsHostTableIsTheSwitchsTable()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        using var table = new SoftwareBackend(new SoftwareBackendOptions { Capacity = 1024 }, time);
        var backend = new WrappingBackend(table);
        var ports = new PortRegistry();
        var sink = new CollectingSink();
        var vswitch = new VirtualSwitch(Load(PolicyYaml), sink, new VirtualSwitchOptions { OffloadBackend = backend, Ports = ports }, time);
        vswitch.Ports.Should().BeSameAs(ports);
        ports.TryGet("vm1", out ushort vm1).Should().BeTrue();

        var inputs = new[] { new Offload.Datapath.InputFrame(Offload.Packets.PacketBuffer.CopyOf(
            TestFrames.Tcp("10.1.0.1", 45000, "10.1.0.2", 80, syn: true, srcMac: Vm1)), vm1) };
        vswitch.Process(inputs);
        vswitch.Poll();

        vswitch.Backend.Should().BeSameAs(table);
        vswitch.OffloadBackend.Should().BeSameAs(backend);
        backend.Submits.Should().BeGreaterThan(0);
        table.Count.Should().BeGreaterThan(0);
        vswitch.Datapath.GetStats().Flows.Should().Be(backend.Count);
        vswitch.Dispose();
        backend.Disposed.Should().BeFalse("the backend belongs to whoever created it");
    }
}
