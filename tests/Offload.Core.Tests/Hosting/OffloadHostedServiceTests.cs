using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Offload.Actions;
using Offload.Datapath;
using Offload.Hosting;
using Offload.Packets;

namespace Offload.Tests.Hosting;

public class OffloadHostedServiceTests
{
    [Fact]
    public async Task StartAsync_PolicySlowPath_SwitchesFramesThroughTheRuntime()
    {
        await using var bed = await HostingTestBed.StartAsync();

        bed.Runtime.IsRunning.Should().BeTrue();
        bed.Runtime.BackendName.Should().Be("software");
        bed.Runtime.SlowPathName.Should().Be("policy");
        var first = bed.Send("vm1", HostingTestBed.UdpVm1ToVm5());
        var reply = bed.Send("vm5", HostingTestBed.UdpVm5ToVm1());

        first.Verdict.Should().Be(ActionVerdict.Output);
        first.OutPort.Should().Be(bed.Port("vm5"));
        first.Path.Should().Be(PacketPath.Slow);
        reply.Path.Should().Be(PacketPath.Fast, "both directions were installed by the first packet's decision");
        reply.OutPort.Should().Be(bed.Port("vm1"));
    }

    [Fact]
    public async Task PollTimer_TimeAdvancesPastUdpTimeout_ExpiresConnectionAndRemovesItsFlows()
    {
        await using var bed = await HostingTestBed.StartAsync();
        bed.Send("vm1", HostingTestBed.UdpVm1ToVm5());
        bed.Runtime.GetStats().Connections.Should().Be(1);

        // Only the hosted service's timer polls here: nothing else calls Poll.
        for (int i = 0; i < 29; i++)
            bed.Time.Advance(TimeSpan.FromSeconds(1));
        bed.Runtime.GetStats().Connections.Should().Be(1, "an unreplied UDP connection lives 30 s");
        for (int i = 0; i < 5; i++)
            bed.Time.Advance(TimeSpan.FromSeconds(1));

        var stats = bed.Runtime.GetStats();
        stats.Connections.Should().Be(0);
        stats.Flows.Should().Be(0);
        stats.FlowsRemoved.Should().Be(stats.FlowsInstalled).And.BeGreaterThan(0);
    }

    [Fact]
    public async Task StopAsync_Running_StopsRuntimeRejectsFramesAndKeepsFinalStats()
    {
        var bed = HostingTestBed.Build();
        await bed.Host.StartAsync();
        bed.Send("vm1", HostingTestBed.UdpVm1ToVm5());
        var runtime = bed.Runtime;

        await bed.Host.StopAsync();

        runtime.IsRunning.Should().BeFalse();
        runtime.GetStats().Frames.Should().Be(1);
        var act = () => runtime.Process(new[] { new InputFrame(PacketBuffer.CopyOf(HostingTestBed.UdpVm1ToVm5()), 2) });
        act.Should().Throw<InvalidOperationException>().WithMessage("*not running*");
        bed.Logs.GetSnapshot().Should().Contain(r => r.Id.Id == 1004 && r.Message.Contains("after 1 frames"));
        bed.Host.Dispose();
    }

    [Fact]
    public async Task StartAsync_DocaWithoutFactory_FailsNamingTheMissingPackage()
    {
        var bed = HostingTestBed.Build(o => o.Backend = OffloadBackendKind.Doca);

        var act = () => bed.Host.StartAsync();

        (await act.Should().ThrowAsync<OptionsValidationException>())
            .Which.Message.Should().Contain("'doca' is selected but no DOCA backend is registered").And.Contain("Offload.Doca");
        bed.Host.Dispose();
    }

    [Fact]
    public async Task StartAsync_DocaFactoryNotSupported_FailsWithTheFactorysReason()
    {
        var bed = HostingTestBed.Build(o => o.Backend = OffloadBackendKind.Doca,
            b => b.AddBackendFactory(new FakeDocaFactory("libdoca_flow.so.2 not found")));

        var act = () => bed.Host.StartAsync();

        (await act.Should().ThrowAsync<OffloadStartupException>())
            .Which.Message.Should().Be("backend 'doca' cannot be used: libdoca_flow.so.2 not found.");
        bed.Logs.GetSnapshot().Should().Contain(r => r.Id.Id == 1003);
        bed.Host.Dispose();
    }

    [Fact]
    public async Task StartAsync_AutoWithoutFactory_FallsBackToSoftwareAndLogsWhy()
    {
        await using var bed = await HostingTestBed.StartAsync(o => o.Backend = OffloadBackendKind.Auto);

        bed.Runtime.BackendName.Should().Be("software");
        bed.Runtime.HardwareBackend.Should().BeNull();
        bed.Logs.GetSnapshot().Should().ContainSingle(r => r.Id.Id == 3001)
            .Which.Message.Should().Be("Backend 'auto': using software because no DOCA backend factory is registered");
    }

    [Fact]
    public async Task StartAsync_AutoWithUnsupportedFactory_FallsBackWithTheFactorysReason()
    {
        await using var bed = await HostingTestBed.StartAsync(o => o.Backend = OffloadBackendKind.Auto,
            b => b.AddBackendFactory(new FakeDocaFactory("no BlueField device")));

        bed.Runtime.BackendName.Should().Be("software");
        bed.Logs.GetSnapshot().Should().Contain(r => r.Id.Id == 3001 && r.Message.EndsWith("no BlueField device", StringComparison.Ordinal));
    }

    [Fact]
    public async Task StartAsync_AutoWithSupportedFactory_UsesDocaLogsHealthAndDisposesOnStop()
    {
        var factory = new FakeDocaFactory();
        var bed = await HostingTestBed.StartAsync(o => o.Backend = OffloadBackendKind.Auto, b => b.AddBackendFactory(factory));

        bed.Runtime.BackendName.Should().Be("doca");
        bed.Runtime.HardwareBackend.Should().BeSameAs(factory.Created);
        factory.Created!.Fail("device reset");
        bed.Logs.GetSnapshot().Should().Contain(r => r.Id.Id == 3002 && r.Message == "Backend doca health Healthy -> Failed: device reset");

        await bed.DisposeAsync();
        factory.Created.Disposed.Should().BeTrue();
    }

    [Fact]
    public async Task StartAsync_KernelSlowPathFactory_BuildsDatapathOverTheFactorysSlowPath()
    {
        var factory = new PolicyBackedSlowPathFactory();
        await using var bed = await HostingTestBed.StartAsync(o => o.SlowPath = OffloadSlowPathKind.Kernel,
            b => b.AddSlowPathFactory(factory));

        bed.Runtime.SlowPathName.Should().Be("kernel");
        var r = bed.Send("vm1", HostingTestBed.UdpVm1ToVm5());
        r.Verdict.Should().Be(ActionVerdict.Output);
        r.OutPort.Should().Be(bed.Port("vm5"));

        var denyUdp = HostingTestBed.Policy(Tests.Switching.SwitchTestBed.PolicyYaml.Replace(
            "dstPorts: \"22\" }",
            "dstPorts: \"22\" }\n    - { priority: 90, action: deny, direction: egress, network: blue, src: 10.1.0.0/16, dst: 10.2.0.0/16, protocol: udp }"));
        var result = bed.Runtime.ApplyPolicy(denyUdp);

        factory.PoliciesApplied.Should().Be(1);
        result.Removed.Should().Be(1);
        bed.Send("vm1", HostingTestBed.UdpVm1ToVm5()).Verdict.Should().Be(ActionVerdict.Drop);
    }

    [Fact]
    public async Task StartAsync_SlowPathFactory_PortQosBecomesTheDatapathsMeter()
    {
        // The policy puts vm5 at 1 Mbit/s with a 4 KiB burst; a slow path from a factory charges meters by port number
        // as the policy slow path does, so the runtime, not the switch, must set them.
        await using var bed = await HostingTestBed.StartAsync(o => o.SlowPath = OffloadSlowPathKind.Kernel,
            b => b.AddSlowPathFactory(new PolicyBackedSlowPathFactory()));
        ushort vm5 = bed.Port("vm5");
        bool Configured(ushort port) => bed.Runtime.Read(d => d.Meters.IsConfigured(port));
        bool Take(int bytes) => bed.Runtime.Read(d => d.Meters.TryConsume(vm5, bytes, bed.Time.GetTimestamp()));

        bed.Runtime.Read(d => d.Meters.IsConfiguredAs(vm5, 125_000, 4096)).Should().BeTrue();
        Configured(bed.Port("vm1")).Should().BeFalse();

        Take(4000).Should().BeTrue();
        bed.Runtime.ApplyPolicy(HostingTestBed.Policy());
        Take(4000).Should().BeFalse("an unchanged policy keeps the bucket's tokens (the clock has not moved)");

        bed.Runtime.ApplyPolicy(HostingTestBed.Policy(Tests.Switching.SwitchTestBed.PolicyYaml.Replace(
            "qos:\n  - { port: vm5, rateMbps: 1, burstKb: 4 }", "qos: []")));
        Configured(vm5).Should().BeFalse("the port's QoS was removed from the policy");
    }

    [Fact]
    public async Task StartAsync_KernelFactoryNotSupported_FailsWithReason()
    {
        var bed = HostingTestBed.Build(o => o.SlowPath = OffloadSlowPathKind.Kernel,
            b => b.AddSlowPathFactory(new UnsupportedKernelFactory()));

        var act = () => bed.Host.StartAsync();

        (await act.Should().ThrowAsync<OffloadStartupException>())
            .Which.Message.Should().Be("slow path 'kernel' is not supported on this host: not running as root");
        bed.Host.Dispose();
    }

    [Fact]
    public async Task StartAsync_InvalidPolicyFile_FailsNamingFileAndErrorPath()
    {
        string path = Path.Combine(Path.GetTempPath(), $"offload-hosting-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(path, Tests.Switching.SwitchTestBed.PolicyYaml.Replace("vni: 100", "vni: 99999999"));
        try
        {
            var bed = HostingTestBed.Build(o =>
            {
                o.Policy = null;
                o.PolicyFile = path;
            });

            var act = () => bed.Host.StartAsync();

            (await act.Should().ThrowAsync<OffloadStartupException>())
                .Which.Message.Should().StartWith($"policy file '{path}' is invalid: networks[0].vni");
            bed.Logs.GetSnapshot().Should().Contain(r => r.Id.Id == 2002);
            bed.Host.Dispose();
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task StartAsync_PolicyFileWithOverrides_AppliesOptionsOverPolicy()
    {
        string path = Path.Combine(Path.GetTempPath(), $"offload-hosting-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(path, Tests.Switching.SwitchTestBed.PolicyYaml);
        try
        {
            await using var bed = await HostingTestBed.StartAsync(o =>
            {
                o.Policy = null;
                o.PolicyFile = path;
                o.MaxConnections = 1234;
                o.OffloadWhen = OffloadTrigger.Established;
            });

            bed.Runtime.Policy!.Conntrack.MaxEntries.Should().Be(1234);
            bed.Runtime.Read(d => d.Conntrack.MaxEntries).Should().Be(1234);
            // Established: the first packet is not offloaded, so its reply still takes the slow path.
            bed.Send("vm1", HostingTestBed.UdpVm1ToVm5());
            bed.Send("vm5", HostingTestBed.UdpVm5ToVm1()).Path.Should().Be(PacketPath.Slow);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task ApplyPolicy_DeniesLiveConnection_RemovesItAndLogsPolicyApplied()
    {
        await using var bed = await HostingTestBed.StartAsync();
        bed.Send("vm1", HostingTestBed.UdpVm1ToVm5());
        var deny = HostingTestBed.Policy(Tests.Switching.SwitchTestBed.PolicyYaml.Replace(
            "dstPorts: \"22\" }",
            "dstPorts: \"22\" }\n    - { priority: 90, action: deny, direction: egress, network: blue, src: 10.1.0.0/16, dst: 10.2.0.0/16, protocol: udp }"));

        var result = bed.Runtime.ApplyPolicy(deny);

        result.Removed.Should().Be(1);
        bed.Runtime.GetStats().Connections.Should().Be(0);
        bed.Logs.GetSnapshot().Should().Contain(r => r.Id.Id == 2001 && r.Message.Contains("1 removed"));
    }

    private sealed class UnsupportedKernelFactory : IOffloadSlowPathFactory
    {
        public string Name => "kernel";

        public string? NotSupportedReason => "not running as root";

        public ISlowPath Create(OffloadComponentContext context) => throw new InvalidOperationException("must not be called");
    }
}
