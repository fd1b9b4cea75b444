using System.Buffers.Binary;
using Offload.Actions;
using Offload.Backends;
using Offload.Conntrack;
using Offload.Doca.Backends;
using Offload.Doca.Tests.Flow;
using Offload.Flows;
using Offload.Packets;

namespace Offload.Doca.Tests.Backends;

/// <summary>DocaBackend with Flow CT on the emulator: a connection's two flows become one CT entry (origin + reply).</summary>
[Collection(EmulatorCollection.Name)]
public sealed class DocaConnectionTrackingTests : IDisposable
{
    private const ushort Uplink = 1, VmPort = 2;
    private const uint Vm = 0x0a000001, Dns = 0x08080808, Public = 0xcb007105;
    private static readonly MacAddress VmMac = MacAddress.Parse("02:00:00:01:00:01");
    private static readonly ConnectionId Conn = new(5, 1);
    private readonly FlowCompletion[] _buffer = new FlowCompletion[256];

    // vm 10.0.0.1:1000 -> 8.8.8.8:53 leaves SNATed to 203.0.113.5:40000; the reply comes back untunnelled on the uplink.
    private static readonly FlowKey Origin = new(NetAddress.FromV4(Vm), 1000, NetAddress.FromV4(Dns), 53, IpProtocol.Udp, VmPort, 7);
    private static readonly FlowKey Reply = new(NetAddress.FromV4(Dns), 53, NetAddress.FromV4(Public), 40000, IpProtocol.Udp, Uplink, 0);
    private static readonly FlowAction OriginAction = new(ActionProgram.CreateBuilder().ApplyNat().Output(Uplink).Build(),
        NatRewrite.Source(NetAddress.FromV4(Public), 40000));
    private static readonly FlowAction ReplyAction = new(ActionProgram.CreateBuilder().SetDestinationMac(VmMac).ApplyNat().Output(VmPort).Build(),
        NatRewrite.Destination(NetAddress.FromV4(Vm), 1000));

    public DocaConnectionTrackingTests(EmulatorFixture fixture)
    {
        _ = fixture;
        EmulatorControl.BeginTest();
    }

    public void Dispose()
    {
        EmulatorControl.EndTest("the backend must use DOCA (and Flow CT) in order");
    }

    private static DocaBackend Create(bool connectionTracking = true) => new(new DocaBackendOptions
    {
        Ports = [new DocaIngressPort(Uplink), new DocaIngressPort(VmPort, NetworkVni: 7)],
        MaxFlows = 64, QueueDepth = 16, ConnectionTracking = connectionTracking, ConnectionTrackingEntries = 16,
    });

    private static void Submit(FlowBackend backend, in FlowOperation op) => backend.TrySubmit(op).Should().Be(SubmitStatus.Accepted);

    private void AddConnection(DocaBackend backend, TimeSpan idle = default)
    {
        Submit(backend, FlowOperation.Add(Origin, OriginAction, Conn, ConnDirection.Original, idle, cookie: 11));
        Submit(backend, FlowOperation.Add(Reply, ReplyAction, Conn, ConnDirection.Reply, idle, cookie: 12));
        var done = backend.DrainAll();
        done.Should().HaveCount(2);
        done.Should().OnlyContain(c => c.Status == FlowCompletionStatus.Success);
        done.Select(c => (c.Key, c.Cookie)).Should().BeEquivalentTo([(Origin, 11L), (Reply, 12L)], "each add is answered with its own cookie");
    }

    private static int InjectOrigin(out byte[] output, out ushort port) =>
        EmulatorControl.Inject(VmPort, Frames.Udp4(Vm, Dns, 1000, 53), out output, out port);

    private static int InjectReply(out byte[] output, out ushort port) =>
        EmulatorControl.Inject(Uplink, Frames.Udp4(Dns, Public, 53, 40000), out output, out port);

    [Fact]
    public void Add_BothDirections_OneCtEntryTranslatesBothWays()
    {
        using var backend = Create();
        backend.Capabilities.SupportsConntrack.Should().BeTrue();

        AddConnection(backend);

        backend.ConnectionCount.Should().Be(1);
        backend.IsConnectionTracked(Origin).Should().BeTrue();
        backend.IsConnectionTracked(Reply).Should().BeTrue();
        backend.Count.Should().Be(2);
        backend.IsInstalled(Origin).Should().BeTrue();

        InjectOrigin(out byte[] output, out ushort port).Should().Be(EmulatorControl.PacketPort);
        port.Should().Be(Uplink);
        BinaryPrimitives.ReadUInt32BigEndian(output.AsSpan(26)).Should().Be(Public, "SNAT in the origin direction");
        BinaryPrimitives.ReadUInt16BigEndian(output.AsSpan(34)).Should().Be(40000);

        InjectReply(out output, out port).Should().Be(EmulatorControl.PacketPort);
        port.Should().Be(VmPort);
        BinaryPrimitives.ReadUInt32BigEndian(output.AsSpan(30)).Should().Be(Vm, "the reply is translated back");
        BinaryPrimitives.ReadUInt16BigEndian(output.AsSpan(36)).Should().Be(1000);
        output.AsSpan(0, 6).ToArray().Should().Equal(2, 0, 0, 1, 0, 1);

        InjectReply(out _, out _);
        backend.TryQueryCounters(Origin, out var origin).Should().BeTrue();
        backend.TryQueryCounters(Reply, out var reply).Should().BeTrue();
        origin.Packets.Should().Be(1, "per-direction counters of the CT entry");
        reply.Packets.Should().Be(2);
        backend.TryQueryConnection(Origin, out var stats).Should().BeTrue();
        stats.Reply.Packets.Should().Be(2UL);
    }

    [Fact]
    public void Remove_OneDirectionThenTheOther_FirstGoesToTheHostThenTheEntryIsGone()
    {
        using var backend = Create();
        AddConnection(backend);

        Submit(backend, FlowOperation.Remove(Reply, cookie: 21));
        backend.DrainAll().Should().ContainSingle().Which.Should().Match<FlowCompletion>(c => c.Status == FlowCompletionStatus.Success && c.Cookie == 21);

        InjectReply(out _, out _).Should().Be(EmulatorControl.PacketMiss, "a removed direction's packets reach the host");
        InjectOrigin(out _, out ushort port).Should().Be(EmulatorControl.PacketPort, "the other direction still forwards");
        port.Should().Be(Uplink);
        backend.Count.Should().Be(1);
        backend.TryQueryCounters(Reply, out _).Should().BeFalse();

        Submit(backend, FlowOperation.Remove(Origin, cookie: 22));
        backend.DrainAll().Should().ContainSingle().Which.Cookie.Should().Be(22);

        InjectOrigin(out _, out _).Should().Be(EmulatorControl.PacketMiss);
        backend.ConnectionCount.Should().Be(0);
        backend.Count.Should().Be(0);
        EmulatorControl.LiveEntries.Should().Be(0, "the CT entry was released");
    }

    [Fact]
    public void Remove_BothDirectionsBeforeTheAddCompletes_EveryOperationAnsweredInOrder()
    {
        using var backend = Create();
        Submit(backend, FlowOperation.Add(Origin, OriginAction, Conn, ConnDirection.Original, cookie: 1));
        Submit(backend, FlowOperation.Add(Reply, ReplyAction, Conn, ConnDirection.Reply, cookie: 2));
        Submit(backend, FlowOperation.Remove(Origin, cookie: 3));
        Submit(backend, FlowOperation.Remove(Reply, cookie: 4));

        var done = backend.DrainAll();

        done.Select(c => c.Cookie).Should().Equal(1, 2, 3, 4);
        done.Should().OnlyContain(c => c.Status == FlowCompletionStatus.Success);
        backend.Count.Should().Be(0);
        EmulatorControl.LiveEntries.Should().Be(0);
    }

    [Fact]
    public void Update_OneDirection_NewActionAppliedOtherKept()
    {
        using var backend = Create();
        AddConnection(backend);
        var dropReplies = new FlowAction(ActionProgram.CreateBuilder().Drop(DropReason.Policy).Build());

        Submit(backend, FlowOperation.Update(Reply, dropReplies, Conn, ConnDirection.Reply, cookie: 31));
        backend.DrainAll().Should().ContainSingle().Which.Status.Should().Be(FlowCompletionStatus.Success);

        InjectReply(out _, out _).Should().Be(EmulatorControl.PacketDrop);
        InjectOrigin(out _, out _).Should().Be(EmulatorControl.PacketPort);
    }

    [Fact]
    public void Aging_IdleConnection_BothDirectionsReportedAged()
    {
        using var backend = Create();
        AddConnection(backend, idle: TimeSpan.FromSeconds(10));
        InjectOrigin(out _, out _);

        EmulatorControl.AdvanceTimeNs(5_000_000_000);
        backend.DrainAll().Should().BeEmpty();
        EmulatorControl.AdvanceTimeNs(6_000_000_000);
        var aged = backend.DrainAll();

        aged.Should().HaveCount(2);
        aged.Should().OnlyContain(c => c.Status == FlowCompletionStatus.Aged);
        aged.Select(c => c.Key).Should().BeEquivalentTo([Origin, Reply]);
        backend.IsInstalled(Origin).Should().BeTrue("aged entries are reported, not removed");
    }

    [Fact]
    public void Add_FlowWithoutPartner_PlainEntryAtTheNextPoll()
    {
        using var backend = Create();

        Submit(backend, FlowOperation.Add(Origin, OriginAction, Conn, ConnDirection.Original, cookie: 41));
        backend.DrainAll().Should().ContainSingle().Which.Should().Match<FlowCompletion>(c => c.Status == FlowCompletionStatus.Success && c.Cookie == 41);

        backend.IsConnectionTracked(Origin).Should().BeFalse();
        backend.IsInstalled(Origin).Should().BeTrue();
        InjectOrigin(out _, out _).Should().Be(EmulatorControl.PacketPort);
    }

    [Fact]
    public void Add_UntrackedFlowsAndTunnelledDirections_PlainEntries()
    {
        using var backend = Create();
        var tunnelled = new FlowKey(NetAddress.FromV4(Dns), 53, NetAddress.FromV4(Vm), 1000, IpProtocol.Udp, Uplink, 7);

        Submit(backend, FlowOperation.Add(Origin, OriginAction, cookie: 1)); // no connection
        Submit(backend, FlowOperation.Add(tunnelled, ReplyAction, Conn, ConnDirection.Reply, cookie: 2));
        backend.DrainAll().Should().HaveCount(2).And.OnlyContain(c => c.Status == FlowCompletionStatus.Success);

        backend.ConnectionCount.Should().Be(0);
        backend.IsInstalled(Origin).Should().BeTrue();
        backend.IsInstalled(tunnelled).Should().BeTrue();
    }

    [Fact]
    public void Add_CtTableFull_BothFlowsFallBackToPlainEntries()
    {
        using var backend = Create();
        for (int i = 0; i < 16; i++)
        {
            var o = new FlowKey(NetAddress.FromV4(Vm), (ushort)(2000 + i), NetAddress.FromV4(Dns), 53, IpProtocol.Udp, VmPort, 7);
            var r = new FlowKey(NetAddress.FromV4(Dns), 53, NetAddress.FromV4(Public), (ushort)(50000 + i), IpProtocol.Udp, Uplink, 0);
            Submit(backend, FlowOperation.Add(o, OriginAction, new ConnectionId(100 + i, 1), ConnDirection.Original));
            Submit(backend, FlowOperation.Add(r, ReplyAction, new ConnectionId(100 + i, 1), ConnDirection.Reply));
            backend.DrainAll();
        }
        backend.ConnectionCount.Should().Be(16);

        AddConnection(backend);

        backend.IsConnectionTracked(Origin).Should().BeFalse("the CT table was full");
        backend.IsInstalled(Origin).Should().BeTrue();
        backend.IsInstalled(Reply).Should().BeTrue();
        InjectOrigin(out _, out _).Should().Be(EmulatorControl.PacketPort);
    }

    [Fact]
    public void DeviceFatal_PendingConnectionFailsAndTheBackendRecoversEmpty()
    {
        using var backend = Create();
        Submit(backend, FlowOperation.Add(Origin, OriginAction, Conn, ConnDirection.Original, cookie: 1));
        Submit(backend, FlowOperation.Add(Reply, ReplyAction, Conn, ConnDirection.Reply, cookie: 2));
        EmulatorControl.SetDeviceFatal(Uplink, true);

        var done = backend.DrainAll();

        done.Select(c => c.Cookie).Should().BeEquivalentTo([1L, 2L]);
        done.Should().OnlyContain(c => c.Status == FlowCompletionStatus.Failed);
        backend.Health.Should().Be(BackendHealth.Failed);
        backend.ConnectionCount.Should().Be(0);
        EmulatorControl.SetDeviceFatal(Uplink, false);
        backend.TryRecover().Should().BeTrue();
        AddConnection(backend);
        InjectReply(out _, out _).Should().Be(EmulatorControl.PacketPort);
    }
    private static (FlowKey Origin, FlowKey Reply) Pair(int i) =>
        (new FlowKey(NetAddress.FromV4(Vm), (ushort)(3000 + i), NetAddress.FromV4(Dns), 53, IpProtocol.Udp, VmPort, 7),
         new FlowKey(NetAddress.FromV4(Dns), 53, NetAddress.FromV4(Public), (ushort)(30000 + i), IpProtocol.Udp, Uplink, 0));

    // Submits every operation honouring back-pressure and returns every answer, keyed by cookie.
    private Dictionary<long, FlowCompletion> Run(DocaBackend backend, IReadOnlyList<FlowOperation> ops)
    {
        var answers = new Dictionary<long, FlowCompletion>();
        int next = 0;
        for (int round = 0; round < 10_000 && (next < ops.Count || answers.Count < ops.Count); round++)
        {
            while (next < ops.Count && backend.TrySubmit(ops[next]) == SubmitStatus.Accepted)
                next++;
            int n = backend.PollCompletions(_buffer);
            for (int i = 0; i < n; i++)
            {
                if (_buffer[i].Status != FlowCompletionStatus.Aged)
                    answers.TryAdd(_buffer[i].Cookie, _buffer[i]).Should().BeTrue("one answer per operation");
            }
        }
        answers.Should().HaveCount(ops.Count, "every operation is answered exactly once");
        return answers;
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(3u)]
    public void ApplyMany_SmallQueuesAndCompletionErrors_EveryOperationAnsweredOnceAndWhatSucceededForwards(uint errorEveryNth)
    {
        using var backend = new DocaBackend(new DocaBackendOptions
        {
            Ports = [new DocaIngressPort(Uplink), new DocaIngressPort(VmPort, NetworkVni: 7)],
            MaxFlows = 256, QueueDepth = 4, ConnectionTracking = true, ConnectionTrackingEntries = 64,
        });
        EmulatorControl.SetCompletionErrors(errorEveryNth, 0, 1);
        var adds = new List<FlowOperation>();
        for (int i = 0; i < 40; i++)
        {
            var (o, r) = Pair(i);
            var id = new ConnectionId(200 + i, 1);
            adds.Add(FlowOperation.Add(o, OriginAction, id, ConnDirection.Original, cookie: 2 * i + 1));
            adds.Add(FlowOperation.Add(r, ReplyAction, id, ConnDirection.Reply, cookie: 2 * i + 2));
        }

        var answers = Run(backend, adds);

        int installed = 0;
        for (int i = 0; i < 40; i++)
        {
            var (o, r) = Pair(i);
            bool ok = answers[2 * i + 1].Status == FlowCompletionStatus.Success;
            backend.IsInstalled(o).Should().Be(ok);
            installed += ok ? 1 : 0;
            installed += answers[2 * i + 2].Status == FlowCompletionStatus.Success ? 1 : 0;
            if (ok)
            {
                EmulatorControl.Inject(VmPort, Frames.Udp4(Vm, Dns, (ushort)(3000 + i), 53), out _, out ushort port).Should().Be(EmulatorControl.PacketPort);
                port.Should().Be(Uplink);
            }
        }
        backend.Count.Should().Be(installed);
        if (errorEveryNth == 0)
            backend.ConnectionCount.Should().Be(40, "every connection became one CT entry");

        EmulatorControl.SetCompletionErrors(0, 0, 1);
        var removes = new List<FlowOperation>();
        for (int i = 0; i < 40; i++)
        {
            var (o, r) = Pair(i);
            if (backend.IsInstalled(o))
                removes.Add(FlowOperation.Remove(o, cookie: 1000 + i));
            if (backend.IsInstalled(r))
                removes.Add(FlowOperation.Remove(r, cookie: 2000 + i));
        }
        Run(backend, removes).Values.Should().OnlyContain(c => c.Status == FlowCompletionStatus.Success);
        for (int round = 0; round < 10 && EmulatorControl.LiveEntries > 0; round++)
            backend.DrainAll();

        backend.Count.Should().Be(0);
        EmulatorControl.LiveEntries.Should().Be(0, "failed adds were released too");
    }
}
