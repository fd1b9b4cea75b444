using Microsoft.Extensions.Time.Testing;
using Offload.Actions;
using Offload.Backends;
using Offload.Backends.Software;
using Offload.Doca.Backends;
using Offload.Doca.Tests.Flow;
using Offload.Flows;
using Offload.Packets;

namespace Offload.Doca.Tests.Backends;

/// <summary>One ingress port of the device fails while the others work: only its flows leave the device, and come back.</summary>
[Collection(EmulatorCollection.Name)]
public sealed class PortFailureTests : IDisposable
{
    private const ushort Uplink = 1, Vm1 = 2, Vm2 = 3;
    private const uint A = 0x0a000001, B = 0x0a000002, Remote = 0x0a000063;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    public PortFailureTests(EmulatorFixture fixture)
    {
        _ = fixture;
        EmulatorControl.BeginTest();
    }

    public void Dispose()
    {
        EmulatorControl.EndTest("no entry of the failed port is used after the port lost it");
    }

    private static DocaBackend CreateDevice() => new(new DocaBackendOptions
    {
        Ports = [new DocaIngressPort(Uplink), new DocaIngressPort(Vm1, NetworkVni: 7), new DocaIngressPort(Vm2, NetworkVni: 7)],
        MaxFlows = 64, QueueDepth = 16,
    });

    private static FlowKey From(ushort port, uint src) => new(NetAddress.FromV4(src), 1000, NetAddress.FromV4(Remote), 53, IpProtocol.Udp, port, 7);

    private static readonly FlowAction Out = new(ActionProgram.CreateBuilder().Output(Uplink).Build());

    private static int Send(ushort port, uint src) => EmulatorControl.Inject(port, Frames.Udp4(src, Remote, 1000, 53), out _, out _);

    [Fact]
    public void DocaBackend_OnePortFails_OnlyItsFlowsAreLost_OthersKeepForwarding_ThenItComesBackEmpty()
    {
        using var device = CreateDevice();
        var ports = new List<DocaPortHealthChangedEventArgs>();
        var health = new List<BackendHealth>();
        device.PortHealthChanged += (_, e) => ports.Add(e);
        device.HealthChanged += (_, e) => health.Add(e.Current);
        device.TrySubmit(FlowOperation.Add(From(Vm1, A), Out));
        device.TrySubmit(FlowOperation.Add(From(Vm2, B), Out));
        device.DrainAll().Should().HaveCount(2).And.OnlyContain(c => c.Status == FlowCompletionStatus.Success);
        device.TrySubmit(FlowOperation.Add(From(Vm1, B), Out, cookie: 9)).Should().Be(SubmitStatus.Accepted);

        EmulatorControl.SetDeviceFatal(Vm1, true);
        var results = device.DrainAll();

        results.Should().ContainSingle().Which.Should().Match<FlowCompletion>(c => c.Cookie == 9 && c.Status == FlowCompletionStatus.Failed);
        device.Health.Should().Be(BackendHealth.Degraded, "the rest of the device works");
        device.IsPortFailed(Vm1).Should().BeTrue();
        device.IsPortFailed(Vm2).Should().BeFalse();
        device.Count.Should().Be(1);
        device.IsInstalled(From(Vm1, A)).Should().BeFalse();
        device.IsInstalled(From(Vm2, B)).Should().BeTrue();
        Send(Vm2, B).Should().Be(EmulatorControl.PacketPort);
        device.TrySubmit(FlowOperation.Add(From(Vm1, A), Out, cookie: 10));
        device.TrySubmit(FlowOperation.Add(From(Vm2, A), Out, cookie: 11));
        var during = device.DrainAll();
        during.Single(c => c.Cookie == 10).Should().Match<FlowCompletion>(c => c.Status == FlowCompletionStatus.Failed && c.IsTransient);
        during.Single(c => c.Cookie == 11).Status.Should().Be(FlowCompletionStatus.Success, "a healthy port takes new flows");
        ports.Should().ContainSingle().Which.Should().Match<DocaPortHealthChangedEventArgs>(e => e.Port == Vm1 && e.Failed);

        EmulatorControl.SetDeviceFatal(Vm1, false);
        device.DrainAll();

        device.IsPortFailed(Vm1).Should().BeFalse();
        device.Health.Should().Be(BackendHealth.Healthy);
        ports.Should().HaveCount(2);
        ports[1].Should().Match<DocaPortHealthChangedEventArgs>(e => e.Port == Vm1 && !e.Failed);
        health.Should().Equal(BackendHealth.Degraded, BackendHealth.Healthy);
        device.TrySubmit(FlowOperation.Add(From(Vm1, A), Out));
        device.DrainAll().Should().ContainSingle().Which.Status.Should().Be(FlowCompletionStatus.Success);
        Send(Vm1, A).Should().Be(EmulatorControl.PacketPort);
    }

    [Fact]
    public void DocaBackend_EveryPortFails_IsAWholeDeviceFailure()
    {
        using var device = CreateDevice();
        device.TrySubmit(FlowOperation.Add(From(Vm1, A), Out));
        device.DrainAll();
        foreach (ushort port in new[] { Uplink, Vm1, Vm2 })
            EmulatorControl.SetDeviceFatal(port, true);

        device.DrainAll();

        device.Health.Should().Be(BackendHealth.Failed);
        device.IsPortFailed(Vm1).Should().BeFalse("a whole-device failure is not a port failure");
        foreach (ushort port in new[] { Uplink, Vm1, Vm2 })
            EmulatorControl.SetDeviceFatal(port, false);
        device.TryRecover().Should().BeTrue();
    }

    [Fact]
    public void Resilient_OnePortFails_ItsFlowsServedInSoftware_OthersStayOnTheDevice_AllBackAfterRecovery()
    {
        using var backend = new ResilientOffloadBackend(CreateDevice(),
            new SoftwareBackend(new SoftwareBackendOptions { Capacity = 64, QueueDepth = 64 }, _time), timeProvider: _time);
        FlowKey[] onVm1 = [From(Vm1, A), From(Vm1, B)], onVm2 = [From(Vm2, A), From(Vm2, B)];
        foreach (var key in onVm1.Concat(onVm2))
            backend.TrySubmit(FlowOperation.Add(key, Out)).Should().Be(SubmitStatus.Accepted);
        Settle(backend, onVm1.Concat(onVm2), FlowPlacement.Hardware);

        EmulatorControl.SetDeviceFatal(Vm1, true);
        Settle(backend, onVm1, FlowPlacement.Software);

        foreach (var key in onVm1)
        {
            backend.GetPlacement(key, out var p).Should().BeTrue();
            p.Should().Match<FlowPlacementInfo>(x => x.Placement == FlowPlacement.Software && x.Reason == NotOffloadedReason.DeviceFailed);
            backend.Software.TryLookup(key, out _, out _).Should().BeTrue("its packets are served in software meanwhile");
        }
        foreach (var key in onVm2)
        {
            backend.GetPlacement(key, out var p).Should().BeTrue();
            p.Placement.Should().Be(FlowPlacement.Hardware, "a healthy port's flows stay on the device");
        }
        Send(Vm2, A).Should().Be(EmulatorControl.PacketPort);
        backend.Hardware.Count.Should().Be(2);
        backend.Statistics.PortFailures.Should().Be(1);
        backend.Statistics.DeviceFailures.Should().Be(0);
        backend.Statistics.FlowsMovedToSoftware.Should().Be(2);
        for (int i = 0; i < 5; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(500));
            backend.DrainAll();
        }
        backend.Hardware.Count.Should().Be(2, "nothing goes onto the failed port");

        EmulatorControl.SetDeviceFatal(Vm1, false);
        Settle(backend, onVm1.Concat(onVm2), FlowPlacement.Hardware);

        foreach (var key in onVm1)
            Send(Vm1, key.SrcIp.V4).Should().Be(EmulatorControl.PacketPort);
        backend.Hardware.Count.Should().Be(4);
        backend.Software.Count.Should().Be(0);
        backend.Statistics.Lost.Should().Be(0);
        backend.Count.Should().Be(4);
    }

    private void Settle(ResilientOffloadBackend backend, IEnumerable<FlowKey> keys, FlowPlacement until)
    {
        var list = keys.ToList();
        for (int round = 0; round < 100; round++)
        {
            backend.DrainAll();
            if (list.All(k => backend.GetPlacement(k, out var p) && p.Placement == until && (until == FlowPlacement.Software || p.Reason == NotOffloadedReason.None)))
                return;
            _time.Advance(TimeSpan.FromMilliseconds(100));
        }
        var where = list.Select(k => backend.GetPlacement(k, out var p) ? $"{k}: {p}" : $"{k}: unknown");
        throw new Xunit.Sdk.XunitException($"not all {until}: " + string.Join("; ", where));
    }
}
