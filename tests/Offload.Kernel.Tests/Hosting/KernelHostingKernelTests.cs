using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Offload.Actions;
using Offload.Datapath;
using Offload.Hosting;
using Offload.Kernel.Hosting;
using Offload.Kernel.SlowPath;
using Offload.Kernel.Tests.Netns;
using Offload.Kernel.Tests.Nftables;
using Offload.Packets;
using static Offload.Kernel.Tests.SlowPath.KernelSlowPathBed;

namespace Offload.Kernel.Tests.Hosting;

/// <summary>The hosted switch with <c>SlowPath = Kernel</c>: the runtime's datapath asks the real kernel, in a private namespace.</summary>
public sealed class KernelHostingKernelTests
{
    private static readonly MacAddress Gateway = MacAddress.Parse("02:00:00:00:ff:fe");
    private static readonly MacAddress Vm1 = MacAddress.Parse("02:00:00:01:00:01");
    private static readonly MacAddress Vm2 = MacAddress.Parse("02:00:00:01:00:02");

    [RootFact]
    public async Task AddKernelSlowPath_HostedRuntime_FirstPacketDecidedByKernelLaterFastPathAndStopRemovesDevices()
    {
        using NetworkNamespace ns = NetworkNamespace.Create();
        var sink = new LockedSink();
        var hb = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        hb.Services.AddOffload(o =>
        {
            o.Policy = PolicyFixtures.Demo();
            o.SlowPath = OffloadSlowPathKind.Kernel;
            o.FlowCapacity = 4096;
            o.PollInterval = TimeSpan.FromMilliseconds(5);
        }).UseFrameSink(sink).AddKernelSlowPath(k => { k.Namespace = ns.Name; k.Owner = "khost-test"; });
        using IHost host = hb.Build();
        await host.StartAsync();
        var runtime = host.Services.GetRequiredService<OffloadRuntime>();
        runtime.SlowPathName.Should().Be("kernel");
        ns.Exec("ip", "-o", "link").Should().Contain(KernelInterfaceNames.PortPrefix, "the emulated NICs exist in the namespace");
        runtime.Ports.TryGet("vm1", out ushort vm1).Should().BeTrue();
        runtime.Ports.TryGet("vm2", out ushort vm2).Should().BeTrue();

        // The demo policy offloads a connection once established: the handshake goes through the kernel, data does not.
        FrameResult syn = Send(runtime, sink, Tcp(Gateway, Vm1, "10.1.0.1", 42001, "10.1.0.2", 80), vm1);
        FrameResult synAck = Send(runtime, sink, Tcp(Gateway, Vm2, "10.1.0.2", 80, "10.1.0.1", 42001, flags: 0x12, seq: 5000, ack: 1001), vm2);
        Send(runtime, sink, Tcp(Gateway, Vm1, "10.1.0.1", 42001, "10.1.0.2", 80, flags: 0x10, seq: 1001, ack: 5001), vm1);
        long fastBefore = runtime.GetStats().FastPathFrames;
        FrameResult data = Send(runtime, sink, Tcp(Gateway, Vm1, "10.1.0.1", 42001, "10.1.0.2", 80, flags: 0x18, seq: 1001, ack: 5001), vm1);
        FrameResult dataReply = Send(runtime, sink, Tcp(Gateway, Vm2, "10.1.0.2", 80, "10.1.0.1", 42001, flags: 0x10, seq: 5001, ack: 1001), vm2);

        (syn.Path, syn.Verdict, syn.OutPort).Should().Be((PacketPath.Slow, ActionVerdict.Output, vm2));
        (synAck.Path, synAck.OutPort).Should().Be((PacketPath.Slow, vm1));
        (data.Path, data.OutPort).Should().Be((PacketPath.Fast, vm2), "the established connection's flows came from the kernel's decision");
        (dataReply.Path, dataReply.OutPort).Should().Be((PacketPath.Fast, vm1), "both directions were installed");
        runtime.GetStats().FastPathFrames.Should().Be(fastBefore + 2);
        ns.Exec("conntrack", "-L").Should().Contain("sport=42001", "the kernel tracks the connection the runtime offloaded");

        await host.StopAsync();
        ns.Exec("ip", "-o", "link").Should().NotContain(KernelInterfaceNames.PortPrefix, "stopping the runtime removes its devices");
    }

    private static FrameResult Send(OffloadRuntime runtime, LockedSink sink, byte[] frame, ushort port)
    {
        int before = sink.Count;
        var input = new[] { new InputFrame(PacketBuffer.CopyOf(frame), port, before) };
        runtime.Process(input);
        long deadline = Environment.TickCount64 + 5000;
        while (sink.Count == before)
        {
            Environment.TickCount64.Should().BeLessThan(deadline, "the runtime answers every frame");
            Thread.Sleep(2);
        }
        return sink.Last;
    }

    private sealed class LockedSink : IFrameSink
    {
        private readonly List<FrameResult> _results = [];

        public int Count
        {
            get { lock (_results) return _results.Count; }
        }

        public FrameResult Last
        {
            get { lock (_results) return _results[^1]; }
        }

        public void OnFrame(in FrameResult result, ReadOnlySpan<byte> frame)
        {
            lock (_results)
                _results.Add(result);
        }
    }
}
