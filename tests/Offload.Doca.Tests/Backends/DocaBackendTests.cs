using Offload.Actions;
using Offload.Backends;
using Offload.Doca.Backends;
using Offload.Doca.Tests.Flow;
using Offload.Flows;
using Offload.Packets;

namespace Offload.Doca.Tests.Backends;

[Collection(EmulatorCollection.Name)]
public sealed class DocaBackendTests : IDisposable
{
    private const uint Vm = 0x0a000001, Remote = 0x0a000002, Public = 0xcb007105;

    public DocaBackendTests(EmulatorFixture fixture)
    {
        _ = fixture;
        EmulatorControl.Reset();
    }

    public void Dispose()
    {
        EmulatorControl.EndTest("the backend must use DOCA in order");
    }

    private static DocaBackend Create(int maxFlows = 64, int queueDepth = 16) =>
        new(new DocaBackendOptions { Ports = [new DocaIngressPort(1, NetworkVni: 7)], MaxFlows = maxFlows, QueueDepth = queueDepth });

    private static FlowKey Udp(uint src, uint dst, ushort sport = 1000, ushort dport = 53) =>
        new(NetAddress.FromV4(src), sport, NetAddress.FromV4(dst), dport, IpProtocol.Udp, 1, 7);

    [Fact]
    public void Add_SnatAndMacRewrite_EmulatorForwardsTheRewrittenFrame()
    {
        using var backend = Create();
        var program = ActionProgram.CreateBuilder().SetDestinationMac(MacAddress.Parse("02:00:00:00:00:99")).ApplyNat().Output(3).Build();
        var key = Udp(Vm, Remote);
        backend.TrySubmit(FlowOperation.Add(key, new FlowAction(program, NatRewrite.Source(NetAddress.FromV4(Public), 40000)), cookie: 5))
            .Should().Be(SubmitStatus.Accepted);
        backend.DrainAll().Should().ContainSingle().Which.Status.Should().Be(FlowCompletionStatus.Success);

        EmulatorControl.Inject(1, Frames.Udp4(Vm, Remote, 1000, 53), out byte[] output, out ushort port).Should().Be(EmulatorControl.PacketPort);

        port.Should().Be(3);
        output.AsSpan(0, 6).ToArray().Should().Equal(0x02, 0, 0, 0, 0, 0x99);
        System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(output.AsSpan(14 + 12)).Should().Be(Public);
        System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(output.AsSpan(34)).Should().Be(40000);
    }

    [Fact]
    public void Add_VxlanEncap_EmulatorAddsOuterHeadersWithTheVni()
    {
        using var backend = Create();
        var template = new EncapTemplate(TunnelType.Vxlan, 4242, MacAddress.Parse("02:00:00:00:0a:01"), MacAddress.Parse("02:00:00:00:0b:01"),
            NetAddress.Parse("192.0.2.10"), NetAddress.Parse("192.0.2.11"));
        var program = ActionProgram.CreateBuilder().Encapsulate(template).Output(0).Build();
        backend.TrySubmit(FlowOperation.Add(Udp(Vm, Remote), new FlowAction(program))).Should().Be(SubmitStatus.Accepted);
        backend.DrainAll().Should().OnlyContain(c => c.Status == FlowCompletionStatus.Success);

        byte[] frame = Frames.Udp4(Vm, Remote, 1000, 53);
        EmulatorControl.Inject(1, frame, out byte[] output, out ushort port).Should().Be(EmulatorControl.PacketPort);

        port.Should().Be(0);
        output.Length.Should().Be(frame.Length + 50);
        System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(output.AsSpan(14 + 20 + 2)).Should().Be(4789);
        (System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(output.AsSpan(14 + 20 + 8 + 4)) >> 8).Should().Be(4242u);
        output.AsSpan(50).ToArray().Should().Equal(frame);
    }

    [Fact]
    public void TrySubmit_InexpressibleFlows_CompleteUnsupportedWithReason()
    {
        using var backend = Create();
        var metered = ActionProgram.CreateBuilder().Meter(0).Output(2).Build();
        var plain = ActionProgram.CreateBuilder().Output(2).Build();
        var wrongVni = new FlowKey(NetAddress.FromV4(Vm), 1, NetAddress.FromV4(Remote), 2, IpProtocol.Udp, 1, 8);
        var otherPort = new FlowKey(NetAddress.FromV4(Vm), 1, NetAddress.FromV4(Remote), 2, IpProtocol.Udp, 5, 7);

        backend.TrySubmit(FlowOperation.Add(Udp(Vm, Remote), new FlowAction(metered), cookie: 1));
        backend.TrySubmit(FlowOperation.Add(wrongVni, new FlowAction(plain), cookie: 2));
        backend.TrySubmit(FlowOperation.Add(otherPort, new FlowAction(plain), cookie: 3));
        var results = backend.DrainAll();

        results.Should().HaveCount(3).And.OnlyContain(c => c.Status == FlowCompletionStatus.Unsupported);
        results.Single(c => c.Cookie == 1).Detail.Should().Contain("Meter");
        results.Single(c => c.Cookie == 2).Detail.Should().Contain("VNI 7 only");
        results.Single(c => c.Cookie == 3).Detail.Should().Contain("ingress port 5");
        backend.Count.Should().Be(0);
        EmulatorControl.LiveEntries.Should().Be(0);
    }

    [Fact]
    public void Add_ErrorCompletion_FailsTransientAndReleasesTheDeviceEntry()
    {
        using var backend = Create();
        var program = ActionProgram.CreateBuilder().Output(2).Build();
        EmulatorControl.SetCompletionErrors(everyNth: 1, perMillion: 0, seed: 1);
        backend.TrySubmit(FlowOperation.Add(Udp(Vm, Remote), new FlowAction(program), cookie: 9));

        var c = backend.DrainAll().Should().ContainSingle().Subject;

        c.Status.Should().Be(FlowCompletionStatus.Failed);
        c.IsTransient.Should().BeTrue();
        c.Cookie.Should().Be(9);
        EmulatorControl.SetCompletionErrors(0, 0, 0);
        backend.DrainAll();
        EmulatorControl.LiveEntries.Should().Be(0, "the failed entry's handle is released");
        backend.TrySubmit(FlowOperation.Add(Udp(Vm, Remote), new FlowAction(program), cookie: 10));
        backend.DrainAll().Should().ContainSingle().Which.Status.Should().Be(FlowCompletionStatus.Success);
        backend.ErrorCompletions.Should().BeGreaterThanOrEqualTo(1, "the release of the failed entry may have failed too while every completion failed");
    }

    [Fact]
    public void Add_DevicePipeFull_CompletesTableFull()
    {
        using var backend = Create(maxFlows: 2);
        EmulatorFaults.SetEnforcePipeCapacity(true);
        var program = ActionProgram.CreateBuilder().Output(2).Build();
        for (ushort i = 0; i < 3; i++)
            backend.TrySubmit(FlowOperation.Add(Udp(Vm, Remote, sport: (ushort)(2000 + i)), new FlowAction(program), cookie: i));
        var results = backend.DrainAll();
        results.Count(c => c.Status == FlowCompletionStatus.Success).Should().Be(2);
        results.Single(c => c.Status == FlowCompletionStatus.TableFull).Detail.Should().Contain("full");
    }

    [Fact]
    public void DeviceFatal_FailsPendingWorkForgetsEntries_ThenRecovers()
    {
        using var backend = Create();
        var program = ActionProgram.CreateBuilder().Output(2).Build();
        var changes = new List<BackendHealth>();
        backend.HealthChanged += (_, e) => changes.Add(e.Current);
        backend.TrySubmit(FlowOperation.Add(Udp(Vm, Remote, sport: 1), new FlowAction(program)));
        backend.DrainAll();
        backend.TrySubmit(FlowOperation.Add(Udp(Vm, Remote, sport: 2), new FlowAction(program), cookie: 77));

        EmulatorControl.SetDeviceFatal(1, true);
        var results = backend.DrainAll();

        results.Should().ContainSingle().Which.Should().Match<FlowCompletion>(c => c.Cookie == 77 && c.Status == FlowCompletionStatus.Failed && !c.IsTransient);
        backend.Health.Should().Be(BackendHealth.Failed);
        backend.Count.Should().Be(0);
        backend.TrySubmit(FlowOperation.Add(Udp(Vm, Remote, sport: 3), new FlowAction(program))).Should().Be(SubmitStatus.Unavailable);
        backend.TryRecover().Should().BeFalse("the device is still dead");

        EmulatorControl.SetDeviceFatal(1, false);
        backend.TryRecover().Should().BeTrue();
        backend.Health.Should().Be(BackendHealth.Healthy);
        changes.Should().Equal(BackendHealth.Failed, BackendHealth.Healthy);
        backend.TrySubmit(FlowOperation.Add(Udp(Vm, Remote, sport: 1), new FlowAction(program))).Should().Be(SubmitStatus.Accepted);
        backend.DrainAll().Should().ContainSingle().Which.Status.Should().Be(FlowCompletionStatus.Success);
    }
}
