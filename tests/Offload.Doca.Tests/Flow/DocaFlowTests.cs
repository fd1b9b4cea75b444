using Offload.Doca.Flow;
using Offload.Packets;

namespace Offload.Doca.Tests.Flow;

[Collection(EmulatorCollection.Name)]
public sealed class DocaFlowTests : IDisposable
{
    private const uint Vm = 0x0a000001, Dns = 0x08080808, Public = 0xcb007105;
    private readonly RecordingSink _sink = new();

    public DocaFlowTests(EmulatorFixture fixture)
    {
        _ = fixture;
        EmulatorControl.Reset();
    }

    public void Dispose()
    {
        EmulatorControl.EndTest("the binding must use DOCA in order (no use after remove, single init)");
    }

    private static DocaEntrySpec UdpTo(ushort outPort, ushort sport = 1000) =>
        new(new DocaFlowTuple(NetAddress.FromV4(Vm), NetAddress.FromV4(Dns), sport, 53, 17), DocaFlowAction.ToPort(outPort));

    [Fact]
    public void TryAdd_ThenProcessCompletions_DeliversCookieAndForwards()
    {
        using DocaFlow flow = DocaFlow.Initialize(new DocaFlowOptions(), _sink);
        using DocaPort vm = flow.StartPort(0);
        using DocaPort uplink = flow.StartPort(1);
        using DocaPipe pipe = vm.CreatePipe(new DocaPipeSpec { IsRoot = true, MatchFields = DocaMatchFields.FiveTuple });

        pipe.TryAdd(0, UdpTo(1), cookie: 4242, out DocaEntry entry).Should().Be(DocaError.Success);
        DocaPipe.GetStatus(entry).Should().Be(DocaEntryStatus.InProcess);
        EmulatorControl.Inject(0, Frames.Udp4(Vm, Dns, 1000, 53), out _, out _).Should().Be(EmulatorControl.PacketMiss);

        flow.ProcessCompletions(vm, 0).Should().Be(1);

        _sink.Completions.Should().ContainSingle().Which.Should().Be(
            new DocaCompletion(entry, 0, DocaEntryStatus.Success, DocaEntryOperation.Add, 4242));
        EmulatorControl.Inject(0, Frames.Udp4(Vm, Dns, 1000, 53), out byte[] output, out ushort outPort).Should().Be(EmulatorControl.PacketPort);
        outPort.Should().Be(1);
        output.Should().Equal(Frames.Udp4(Vm, Dns, 1000, 53));
        DocaPipe.TryQueryCounters(entry, out DocaCounters counters).Should().Be(DocaError.Success);
        counters.Should().Be(new DocaCounters(1, (ulong)output.Length));
    }

    [Fact]
    public void TryRemove_Completed_StopsForwardingAndReportsRemove()
    {
        using DocaFlow flow = DocaFlow.Initialize(new DocaFlowOptions(), _sink);
        using DocaPort vm = flow.StartPort(0);
        using DocaPipe pipe = vm.CreatePipe(new DocaPipeSpec { IsRoot = true });
        pipe.TryAdd(0, UdpTo(2), 1, out DocaEntry entry).Should().Be(DocaError.Success);
        flow.ProcessCompletions(vm, 0);

        DocaPipe.TryRemove(0, entry).Should().Be(DocaError.Success);
        flow.ProcessCompletions(vm, 0).Should().Be(1);

        _sink.Completions[^1].Operation.Should().Be(DocaEntryOperation.Remove);
        EmulatorControl.Inject(0, Frames.Udp4(Vm, Dns, 1000, 53), out _, out _).Should().Be(EmulatorControl.PacketMiss);
        EmulatorControl.LiveEntries.Should().Be(0);
    }

    [Fact]
    public void TryUpdate_ToDrop_TakesEffectWhenTheUpdateCompletes()
    {
        using DocaFlow flow = DocaFlow.Initialize(new DocaFlowOptions(), _sink);
        using DocaPort vm = flow.StartPort(0);
        using DocaPipe pipe = vm.CreatePipe(new DocaPipeSpec { IsRoot = true });
        DocaEntrySpec spec = UdpTo(1);
        pipe.TryAdd(0, spec, 1, out DocaEntry entry).Should().Be(DocaError.Success);
        flow.ProcessCompletions(vm, 0);

        pipe.TryUpdate(0, entry, spec with { Action = DocaFlowAction.Drop }).Should().Be(DocaError.Success);
        EmulatorControl.Inject(0, Frames.Udp4(Vm, Dns, 1000, 53), out _, out _).Should().Be(EmulatorControl.PacketPort);
        flow.ProcessCompletions(vm, 0).Should().Be(1);

        _sink.Completions[^1].Operation.Should().Be(DocaEntryOperation.Update);
        EmulatorControl.Inject(0, Frames.Udp4(Vm, Dns, 1000, 53), out _, out _).Should().Be(EmulatorControl.PacketDrop);
    }

    [Fact]
    public void TryAdd_QueueFull_ReturnsTransientAgainWithoutLosingQueuedEntries()
    {
        using DocaFlow flow = DocaFlow.Initialize(new DocaFlowOptions { QueueDepth = 4 }, _sink);
        using DocaPort vm = flow.StartPort(0);
        using DocaPipe pipe = vm.CreatePipe(new DocaPipeSpec { IsRoot = true });
        for (ushort i = 0; i < 4; i++)
            pipe.TryAdd(0, UdpTo(1, (ushort)(100 + i)), i, out _).Should().Be(DocaError.Success);

        DocaError full = pipe.TryAdd(0, UdpTo(1, 200), 9, out DocaEntry none);

        full.Should().Be(DocaError.Again);
        full.IsTransient().Should().BeTrue();
        none.IsNone.Should().BeTrue();
        flow.ProcessCompletions(vm, 0).Should().Be(4);
        _sink.Completions.Select(c => c.Cookie).Should().Equal(0, 1, 2, 3);
        pipe.TryAdd(0, UdpTo(1, 200), 9, out _).Should().Be(DocaError.Success);
    }

    [Fact]
    public void ProcessCompletions_TenPercentErrorCompletions_EverySubmissionCompletesExactlyOnce()
    {
        const int Count = 20_000;
        using DocaFlow flow = DocaFlow.Initialize(new DocaFlowOptions { PipeQueues = 2, QueueDepth = 256 }, _sink);
        using DocaPort vm = flow.StartPort(0);
        using DocaPipe pipe = vm.CreatePipe(new DocaPipeSpec { IsRoot = true, Entries = Count });
        EmulatorControl.SetCompletionErrors(everyNth: 0, perMillion: 100_000, seed: 7);

        for (int i = 0; i < Count; i++)
        {
            var spec = new DocaEntrySpec(new DocaFlowTuple(NetAddress.FromV4(Vm), NetAddress.FromV4(Dns + (uint)(i >> 16)), (ushort)i, 53, 17), DocaFlowAction.ToPort(1));
            ushort queue = (ushort)(i & 1);
            DocaError rc;
            while ((rc = pipe.TryAdd(queue, spec, i, out _, batch: i % 16 != 15)) == DocaError.Again)
                flow.ProcessCompletions(vm, queue);
            rc.Should().Be(DocaError.Success);
        }
        flow.ProcessCompletions(vm, 0);
        flow.ProcessCompletions(vm, 1);

        _sink.Completions.Should().HaveCount(Count);
        _sink.Completions.Select(c => c.Cookie).Distinct().Should().HaveCount(Count);
        int errors = _sink.Completions.Count(c => c.Status == DocaEntryStatus.Error);
        errors.Should().BeInRange(Count / 10 - 400, Count / 10 + 400);
        _sink.Completions.Should().OnlyContain(c => c.Queue == (ushort)(c.Cookie & 1));
    }

    [Fact]
    public void TryAdd_DeviceFatal_ReturnsTheGenerationsFatalCode()
    {
        using DocaFlow flow = DocaFlow.Initialize(new DocaFlowOptions(), _sink);
        using DocaPort vm = flow.StartPort(0);
        using DocaPipe pipe = vm.CreatePipe(new DocaPipeSpec { IsRoot = true });
        EmulatorControl.SetDeviceFatal(0, true);

        DocaError rc = pipe.TryAdd(0, UdpTo(1), 1, out _);

        rc.Should().Be(DocaLibrary.Generation == DocaApiGeneration.B ? DocaError.DeviceFatalError : DocaError.Driver);
        rc.IsDeviceFatal().Should().BeTrue();
        FluentActions.Invoking(() => flow.ProcessCompletions(vm, 0)).Should().Throw<DocaDeviceFatalException>();
        EmulatorControl.SetDeviceFatal(0, false);
    }

    [Fact]
    public void TryAdd_InjectedSubmitFailure_ReturnsTheInjectedCode()
    {
        using DocaFlow flow = DocaFlow.Initialize(new DocaFlowOptions(), _sink);
        using DocaPort vm = flow.StartPort(0);
        using DocaPipe pipe = vm.CreatePipe(new DocaPipeSpec { IsRoot = true });
        EmulatorControl.FailNextSubmits(1, DocaError.NoLock);

        pipe.TryAdd(0, UdpTo(1), 1, out _).Should().Be(DocaError.NoLock);
        pipe.TryAdd(0, UdpTo(1), 1, out _).Should().Be(DocaError.Success);
    }

    [Fact]
    public void TryAdd_MixedAddressFamilies_IsInvalidWithoutReachingDoca()
    {
        using DocaFlow flow = DocaFlow.Initialize(new DocaFlowOptions(), _sink);
        using DocaPort vm = flow.StartPort(0);
        using DocaPipe pipe = vm.CreatePipe(new DocaPipeSpec { IsRoot = true });
        var spec = new DocaEntrySpec(new DocaFlowTuple(NetAddress.FromV4(Vm), NetAddress.Parse("2001:db8::1"), 1, 2, 17), DocaFlowAction.Drop);

        pipe.TryAdd(0, spec, 1, out _).Should().Be(DocaError.InvalidValue);
        EmulatorControl.LiveEntries.Should().Be(0);
    }

    [Fact]
    public void ProcessCompletions_SinkThrows_RethrowsOnTheCallerAfterTheNativeCallReturns()
    {
        using DocaFlow flow = DocaFlow.Initialize(new DocaFlowOptions(), _sink);
        using DocaPort vm = flow.StartPort(0);
        using DocaPipe pipe = vm.CreatePipe(new DocaPipeSpec { IsRoot = true });
        pipe.TryAdd(0, UdpTo(1, 1), 1, out _).Should().Be(DocaError.Success);
        pipe.TryAdd(0, UdpTo(1, 2), 2, out _).Should().Be(DocaError.Success);
        _sink.ThrowOnNext = new InvalidOperationException("sink failed");

        FluentActions.Invoking(() => flow.ProcessCompletions(vm, 0)).Should().Throw<InvalidOperationException>().WithMessage("sink failed");

        _sink.Completions.Should().HaveCount(2, "the native loop went on after the managed failure was caught");
    }

    [Fact]
    public void HandleAging_IdlePastAgingSeconds_DeliversAgedWithCookie()
    {
        EmulatorControl.SetTimeNs(1_000_000_000);
        using DocaFlow flow = DocaFlow.Initialize(new DocaFlowOptions(), _sink);
        using DocaPort vm = flow.StartPort(0);
        using DocaPipe pipe = vm.CreatePipe(new DocaPipeSpec { IsRoot = true });
        pipe.TryAdd(0, UdpTo(1) with { AgingSeconds = 30 }, 77, out DocaEntry entry).Should().Be(DocaError.Success);
        flow.ProcessCompletions(vm, 0);

        EmulatorControl.AdvanceTimeNs(29_000_000_000);
        flow.HandleAging(vm, 0).Should().Be(0);
        EmulatorControl.AdvanceTimeNs(1_000_000_000);
        flow.HandleAging(vm, 0).Should().Be(1);

        _sink.Completions[^1].Should().Be(new DocaCompletion(entry, 0, DocaEntryStatus.Success, DocaEntryOperation.Aged, 77));
    }

    [Fact]
    public void TryAdd_VxlanEncap_LeavesTheUplinkWithOuterHeaders()
    {
        using DocaFlow flow = DocaFlow.Initialize(new DocaFlowOptions(), _sink);
        using DocaPort vm = flow.StartPort(0);
        using DocaPort uplink = flow.StartPort(1);
        using DocaPipe pipe = vm.CreatePipe(new DocaPipeSpec { IsRoot = true });
        var encap = new DocaEncap(DocaTunnel.Vxlan, NetAddress.Parse("192.0.2.1"), NetAddress.Parse("192.0.2.2"),
            MacAddress.Parse("02:00:00:00:00:0c"), MacAddress.Parse("02:00:00:00:00:0d"), Vni: 5001, UdpSourcePort: 50000);
        var spec = UdpTo(1) with { Action = DocaFlowAction.ToPort(1) with { Rewrites = DocaRewrites.Encap, Encap = encap } };
        pipe.TryAdd(0, spec, 1, out _).Should().Be(DocaError.Success);
        flow.ProcessCompletions(vm, 0);
        byte[] inner = Frames.Udp4(Vm, Dns, 1000, 53);

        EmulatorControl.Inject(0, inner, out byte[] output, out ushort outPort).Should().Be(EmulatorControl.PacketPort);

        outPort.Should().Be(1);
        output.Length.Should().Be(inner.Length + 50);
        output.AsSpan(0, 6).ToArray().Should().Equal(0x02, 0, 0, 0, 0, 0x0d);
        output.AsSpan(26, 8).ToArray().Should().Equal(192, 0, 2, 1, 192, 0, 2, 2);
        output.AsSpan(34, 4).ToArray().Should().Equal(0xc3, 0x50, 0x12, 0xb5);
        output.AsSpan(42, 8).ToArray().Should().Equal(0x08, 0, 0, 0, 0x00, 0x13, 0x89, 0);
        output.AsSpan(50).ToArray().Should().Equal(inner);
    }

    [Fact]
    public void TryAddConnection_Snat_TranslatesBothDirectionsAndCountsEach()
    {
        using DocaFlow flow = DocaFlow.Initialize(new DocaFlowOptions { ConnectionTrackingEntries = 1024 }, _sink);
        using DocaPort vm = flow.StartPort(0);
        using DocaPort uplink = flow.StartPort(1);
        using DocaPipe ct = vm.CreatePipe(new DocaPipeSpec { IsRoot = true, IsConnectionTracking = true });
        using DocaPipe uplinkRoot = uplink.CreatePipe(new DocaPipeSpec { IsRoot = true, MatchFields = DocaMatchFields.None, MissFate = DocaFate.Pipe, MissPipe = ct });
        var connection = new DocaConnectionSpec(
            new DocaFlowTuple(NetAddress.FromV4(Vm), NetAddress.FromV4(Dns), 1000, 53, 17),
            new DocaFlowTuple(NetAddress.FromV4(Dns), NetAddress.FromV4(Public), 53, 40000, 17),
            DocaFlowAction.ToPort(1) with { Rewrites = DocaRewrites.SourceAddress | DocaRewrites.SourcePort, SourceAddress = NetAddress.FromV4(Public), SourcePort = 40000 },
            DocaFlowAction.ToPort(0) with { Rewrites = DocaRewrites.DestinationAddress | DocaRewrites.DestinationPort, DestinationAddress = NetAddress.FromV4(Vm), DestinationPort = 1000 },
            TimeoutSeconds: 120);

        ct.TryAddConnection(0, connection, 5, out DocaEntry entry).Should().Be(DocaError.Success);
        flow.ProcessConnectionTrackingCompletions(vm, 0).Should().Be(1);

        EmulatorControl.Inject(0, Frames.Udp4(Vm, Dns, 1000, 53), out byte[] origin, out ushort originPort).Should().Be(EmulatorControl.PacketPort);
        originPort.Should().Be(1);
        origin.AsSpan(26, 4).ToArray().Should().Equal(203, 0, 113, 5);
        origin.AsSpan(34, 2).ToArray().Should().Equal(0x9c, 0x40);
        EmulatorControl.Inject(1, Frames.Udp4(Dns, Public, 53, 40000), out byte[] reply, out ushort replyPort).Should().Be(EmulatorControl.PacketPort);
        replyPort.Should().Be(0);
        reply.AsSpan(30, 4).ToArray().Should().Equal(10, 0, 0, 1);
        reply.AsSpan(36, 2).ToArray().Should().Equal(0x03, 0xe8);
        ct.TryQueryConnection(0, entry, out DocaConnectionStats stats).Should().Be(DocaError.Success);
        stats.Origin.Packets.Should().Be(1);
        stats.Reply.Packets.Should().Be(1);

        var moved = connection with { ReplyAction = connection.ReplyAction with { DestinationPort = 2000 } };
        ct.TryUpdateConnection(0, entry, moved).Should().Be(DocaError.Success);
        flow.ProcessConnectionTrackingCompletions(vm, 0).Should().Be(1);
        EmulatorControl.Inject(1, Frames.Udp4(Dns, Public, 53, 40000), out reply, out _).Should().Be(EmulatorControl.PacketPort);
        reply.AsSpan(36, 2).ToArray().Should().Equal(0x07, 0xd0);

        ct.TryRemoveConnection(0, entry).Should().Be(DocaError.Success);
        flow.ProcessConnectionTrackingCompletions(vm, 0).Should().Be(1);
        EmulatorControl.LiveEntries.Should().Be(0);
    }

    [Fact]
    public void Initialize_Twice_ThrowsInvalidOperation()
    {
        using DocaFlow flow = DocaFlow.Initialize(new DocaFlowOptions(), _sink);

        FluentActions.Invoking(() => DocaFlow.Initialize(new DocaFlowOptions(), new RecordingSink()))
            .Should().Throw<InvalidOperationException>();
    }

    [Fact]
    public void Initialize_InvalidOptions_ThrowsArgumentExceptionListingEveryError()
    {
        var options = new DocaFlowOptions { PipeQueues = 0, QueueDepth = 100_000, ModeArgs = " " };

        FluentActions.Invoking(() => DocaFlow.Initialize(options, _sink)).Should().Throw<ArgumentException>()
            .Which.Message.Should().Contain("PipeQueues").And.Contain("QueueDepth").And.Contain("ModeArgs");
    }

    [Fact]
    public void StartPort_SameIdTwice_ThrowsAlreadyExist()
    {
        using DocaFlow flow = DocaFlow.Initialize(new DocaFlowOptions(), _sink);
        using DocaPort port = flow.StartPort(3);

        FluentActions.Invoking(() => flow.StartPort(3)).Should().Throw<DocaException>()
            .Which.Error.Should().Be(DocaError.AlreadyExist);
    }

    [Fact]
    public void Dispose_FlowBeforePorts_DefersDestroyUntilThePortsAreReleased()
    {
        DocaFlow flow = DocaFlow.Initialize(new DocaFlowOptions(), _sink);
        DocaPort port = flow.StartPort(0);
        DocaPipe pipe = port.CreatePipe(new DocaPipeSpec { IsRoot = true });

        flow.Dispose();
        pipe.TryAdd(0, UdpTo(1), 1, out _).Should().Be(DocaError.Success, "the port still holds DOCA Flow alive");
        port.Dispose();
        pipe.Dispose();

        EmulatorControl.Violations.Should().Be(0);
        using DocaFlow again = DocaFlow.Initialize(new DocaFlowOptions(), _sink);
    }
}
