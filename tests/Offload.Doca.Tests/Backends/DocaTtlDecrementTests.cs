using System.Buffers.Binary;
using Offload.Actions;
using Offload.Backends;
using Offload.Conntrack;
using Offload.Doca.Backends;
using Offload.Doca.Flow;
using Offload.Doca.Tests.Flow;
using Offload.Flows;
using Offload.Packets;

namespace Offload.Doca.Tests.Backends;

/// <summary>
/// TTL / hop-limit decrement offloaded to DOCA: the translator maps it, the backend claims it, and the emulator's output
/// is byte for byte what the software executor makes of the same frame (including the drop at TTL 1).
/// </summary>
[Collection(EmulatorCollection.Name)]
public sealed class DocaTtlDecrementTests : IDisposable
{
    private const ushort Uplink = 1, VmPort = 2;
    private const uint Vm = 0x0a000001, Remote = 0x0a000002, Dns = 0x08080808, Public = 0xcb007105;
    private static readonly MacAddress VmMac = MacAddress.Parse("02:00:00:01:00:01"), GatewayMac = MacAddress.Parse("02:00:00:00:ff:fe");

    public DocaTtlDecrementTests(EmulatorFixture fixture)
    {
        _ = fixture;
        EmulatorControl.BeginTest();
    }

    public void Dispose()
    {
        EmulatorControl.EndTest("the backend must use DOCA in order");
    }

    private static DocaBackend Create(bool connectionTracking = false) => new(new DocaBackendOptions
    {
        Ports = [new DocaIngressPort(Uplink), new DocaIngressPort(VmPort, NetworkVni: 7)],
        MaxFlows = 64, QueueDepth = 16, ConnectionTracking = connectionTracking, ConnectionTrackingEntries = 16,
    });

    private static ActionProgram Routed(ushort port) =>
        ActionProgram.CreateBuilder().SetSourceMac(GatewayMac).SetDestinationMac(VmMac).DecrementTtl().Output(port).Build();

    private void AddAll(DocaBackend backend, params FlowOperation[] ops)
    {
        foreach (var op in ops)
            backend.TrySubmit(op).Should().Be(SubmitStatus.Accepted);
        var done = backend.DrainAll();
        done.Should().HaveCount(ops.Length).And.OnlyContain(c => c.Status == FlowCompletionStatus.Success, string.Join("; ", done.Select(c => c.Detail)));
    }

    /// <summary>What the software path makes of <paramref name="frame"/>: the oracle the device must match.</summary>
    private static (ActionOutcome Outcome, byte[] Frame) Software(in FlowAction action, byte[] frame)
    {
        var buffer = PacketBuffer.CopyOf(frame);
        PacketParser.Parse(frame, out ParsedPacket packet);
        var outcome = ActionExecutor.Apply(action.Program!, action.Nat, ref buffer, ref packet, 0, null, 0);
        return (outcome, buffer.Span.ToArray());
    }

    private static byte[] Udp6(string src, string dst, ushort sport, ushort dport, byte hopLimit)
    {
        byte[] f = new byte[14 + 40 + 8 + 6];
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(12), 0x86DD);
        f[14] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(14 + 4), 8 + 6);
        f[14 + 6] = 17;
        f[14 + 7] = hopLimit;
        NetAddress.Parse(src).WriteTo(f.AsSpan(14 + 8, 16));
        NetAddress.Parse(dst).WriteTo(f.AsSpan(14 + 24, 16));
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(54), sport);
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(56), dport);
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(58), 8 + 6);
        return f;
    }

    [Fact]
    public void Capabilities_ClaimDecrementTtl_AndARoutedProgramIsSupported()
    {
        using var backend = Create();
        backend.Capabilities.Actions.Should().HaveFlag(ActionCapabilities.DecrementTtl);
        var key = new FlowKey(NetAddress.FromV4(Vm), 1000, NetAddress.FromV4(Remote), 53, IpProtocol.Udp, VmPort, 7);
        backend.GetUnsupportedReason(key, new FlowAction(Routed(Uplink))).Should().BeNull();
    }

    [Fact]
    public void TryTranslate_DecrementWithNatAndEncap_KeepsEveryRewrite()
    {
        var template = new EncapTemplate(TunnelType.Vxlan, 100, MacAddress.Parse("02:00:00:00:0a:01"), MacAddress.Parse("02:00:00:00:0b:01"),
            NetAddress.Parse("192.0.2.10"), NetAddress.Parse("192.0.2.11"));
        var program = ActionProgram.CreateBuilder().ApplyNat().DecrementTtl().Encapsulate(template).Output(Uplink).Build();
        var key = new FlowKey(NetAddress.FromV4(Vm), 1000, NetAddress.FromV4(Dns), 53, IpProtocol.Udp, VmPort, 7);

        string? why = DocaActionTranslator.TryTranslate(key, new FlowAction(program, NatRewrite.Source(NetAddress.FromV4(Public), 40000)), out var result);

        why.Should().BeNull();
        result.Rewrites.Should().Be(DocaRewrites.SourceAddress | DocaRewrites.SourcePort | DocaRewrites.DecrementTtl | DocaRewrites.Encap);
        result.Fate.Should().Be(DocaFate.Port);
    }

    [Theory]
    [InlineData(64)]
    [InlineData(2)]
    [InlineData(255)]
    public void Add_RoutedIpv4Flow_DeviceOutputEqualsTheSoftwareExecutors(byte ttl)
    {
        using var backend = Create();
        var key = new FlowKey(NetAddress.FromV4(Vm), 1000, NetAddress.FromV4(Remote), 53, IpProtocol.Udp, VmPort, 7);
        var action = new FlowAction(Routed(Uplink));
        AddAll(backend, FlowOperation.Add(key, action));
        byte[] frame = Ip4Header.WithTtl(Frames.Udp4(Vm, Remote, 1000, 53, payload: 17), ttl);

        EmulatorControl.Inject(VmPort, frame, out byte[] device, out ushort port).Should().Be(EmulatorControl.PacketPort);
        var (outcome, software) = Software(action, frame);

        outcome.Verdict.Should().Be(ActionVerdict.Output);
        port.Should().Be(outcome.OutPort);
        device[14 + 8].Should().Be((byte)(ttl - 1));
        Ip4Header.CarriedChecksum(device).Should().Be(Ip4Header.Checksum(device), "the header checksum equals a recomputation");
        device.Should().Equal(software);
    }

    [Fact]
    public void Add_SnatAndDecrement_DeviceOutputEqualsTheSoftwareExecutors()
    {
        using var backend = Create();
        var key = new FlowKey(NetAddress.FromV4(Vm), 1000, NetAddress.FromV4(Dns), 53, IpProtocol.Udp, VmPort, 7);
        var action = new FlowAction(ActionProgram.CreateBuilder().ApplyNat().DecrementTtl().Output(Uplink).Build(),
            NatRewrite.Source(NetAddress.FromV4(Public), 40000));
        AddAll(backend, FlowOperation.Add(key, action));
        byte[] frame = Frames.Udp4(Vm, Dns, 1000, 53, payload: 9);

        EmulatorControl.Inject(VmPort, frame, out byte[] device, out _).Should().Be(EmulatorControl.PacketPort);

        device[14 + 8].Should().Be(63);
        BinaryPrimitives.ReadUInt32BigEndian(device.AsSpan(26)).Should().Be(Public);
        device.Should().Equal(Software(action, frame).Frame);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(0)]
    public void Add_Ipv4TtlOneOrZero_DeviceDropsCountedAsTtlExceeded_LikeSoftware(byte ttl)
    {
        using var backend = Create();
        var key = new FlowKey(NetAddress.FromV4(Vm), 1000, NetAddress.FromV4(Remote), 53, IpProtocol.Udp, VmPort, 7);
        var action = new FlowAction(Routed(Uplink));
        AddAll(backend, FlowOperation.Add(key, action));
        byte[] frame = Ip4Header.WithTtl(Frames.Udp4(Vm, Remote, 1000, 53), ttl);

        EmulatorControl.Inject(VmPort, frame, out _, out _).Should().Be(EmulatorControl.PacketDrop);

        EmulatorControl.DropCount(EmulatorControl.DropTtlExceeded).Should().Be(1);
        EmulatorControl.DropCount(EmulatorControl.DropFate).Should().Be(0);
        var (outcome, _) = Software(action, frame);
        outcome.Verdict.Should().Be(ActionVerdict.Drop);
        outcome.Reason.Should().Be(DropReason.TtlExceeded);
    }

    [Fact]
    public void Add_RoutedIpv6Flow_HopLimitDecremented_OneDropped_LikeSoftware()
    {
        using var backend = Create();
        var key = new FlowKey(NetAddress.Parse("fd00::1"), 5353, NetAddress.Parse("fd00::2"), 53, IpProtocol.Udp, VmPort, 7);
        var action = new FlowAction(Routed(Uplink));
        AddAll(backend, FlowOperation.Add(key, action));
        byte[] frame = Udp6("fd00::1", "fd00::2", 5353, 53, hopLimit: 64);

        EmulatorControl.Inject(VmPort, frame, out byte[] device, out _).Should().Be(EmulatorControl.PacketPort);
        device[14 + 7].Should().Be(63);
        device.Should().Equal(Software(action, frame).Frame);

        byte[] last = Udp6("fd00::1", "fd00::2", 5353, 53, hopLimit: 1);
        EmulatorControl.Inject(VmPort, last, out _, out _).Should().Be(EmulatorControl.PacketDrop);
        EmulatorControl.DropCount(EmulatorControl.DropTtlExceeded).Should().Be(1);
        Software(action, last).Outcome.Reason.Should().Be(DropReason.TtlExceeded);
    }

    [Fact]
    public void Add_DecrementThenVxlanEncap_InnerPacketDecrementedOuterTtlFromTheTemplate()
    {
        using var backend = Create();
        var template = new EncapTemplate(TunnelType.Vxlan, 4242, MacAddress.Parse("02:00:00:00:0a:01"), MacAddress.Parse("02:00:00:00:0b:01"),
            NetAddress.Parse("192.0.2.10"), NetAddress.Parse("192.0.2.11"), ttl: 40);
        var key = new FlowKey(NetAddress.FromV4(Vm), 1000, NetAddress.FromV4(Remote), 53, IpProtocol.Udp, VmPort, 7);
        var action = new FlowAction(ActionProgram.CreateBuilder().SetDestinationMac(VmMac).DecrementTtl().Encapsulate(template).Output(Uplink).Build());
        AddAll(backend, FlowOperation.Add(key, action));
        byte[] frame = Frames.Udp4(Vm, Remote, 1000, 53);

        EmulatorControl.Inject(VmPort, frame, out byte[] device, out _).Should().Be(EmulatorControl.PacketPort);
        var (_, software) = Software(action, frame);

        device.Length.Should().Be(frame.Length + 50);
        device[14 + 8].Should().Be(40, "the outer header carries the template's TTL");
        device.AsSpan(50).ToArray().Should().Equal(software.AsSpan(50).ToArray(), "the inner packet is the software path's");
        device[50 + 14 + 8].Should().Be(63);

        EmulatorControl.Inject(VmPort, Ip4Header.WithTtl(frame, 1), out _, out _).Should().Be(EmulatorControl.PacketDrop);
        EmulatorControl.DropCount(EmulatorControl.DropTtlExceeded).Should().Be(1);
    }

    [Fact]
    public void AddConnection_RoutedBothWaysWithNat_OneCtEntryDecrementsBothDirections()
    {
        using var backend = Create(connectionTracking: true);
        var conn = new ConnectionId(5, 1);
        var origin = new FlowKey(NetAddress.FromV4(Vm), 1000, NetAddress.FromV4(Dns), 53, IpProtocol.Udp, VmPort, 7);
        var reply = new FlowKey(NetAddress.FromV4(Dns), 53, NetAddress.FromV4(Public), 40000, IpProtocol.Udp, Uplink, 0);
        var originAction = new FlowAction(ActionProgram.CreateBuilder().ApplyNat().DecrementTtl().Output(Uplink).Build(),
            NatRewrite.Source(NetAddress.FromV4(Public), 40000));
        var replyAction = new FlowAction(ActionProgram.CreateBuilder().SetDestinationMac(VmMac).ApplyNat().DecrementTtl().Output(VmPort).Build(),
            NatRewrite.Destination(NetAddress.FromV4(Vm), 1000));
        AddAll(backend,
            FlowOperation.Add(origin, originAction, conn, ConnDirection.Original, default),
            FlowOperation.Add(reply, replyAction, conn, ConnDirection.Reply, default));
        backend.ConnectionCount.Should().Be(1);

        byte[] out1 = Frames.Udp4(Vm, Dns, 1000, 53), back = Ip4Header.WithTtl(Frames.Udp4(Dns, Public, 53, 40000), 50);
        EmulatorControl.Inject(VmPort, out1, out byte[] o1, out _).Should().Be(EmulatorControl.PacketPort);
        EmulatorControl.Inject(Uplink, back, out byte[] o2, out ushort p2).Should().Be(EmulatorControl.PacketPort);

        o1.Should().Equal(Software(originAction, out1).Frame);
        o2.Should().Equal(Software(replyAction, back).Frame);
        p2.Should().Be(VmPort);
        o2[14 + 8].Should().Be(49);
        EmulatorControl.Inject(Uplink, Ip4Header.WithTtl(back, 1), out _, out _).Should().Be(EmulatorControl.PacketDrop);
    }
}
