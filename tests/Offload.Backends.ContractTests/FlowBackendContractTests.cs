using Microsoft.Extensions.Time.Testing;
using Offload.Actions;
using Offload.Backends;
using Offload.Flows;
using Offload.Packets;

namespace Offload.Backends.ContractTests;

/// <summary>
/// The fast-path backend contract (SPEC "Backends"). Every backend's tests subclass this and say how
/// to create the backend and how to pass traffic through one of its flows.
/// </summary>
public abstract class FlowBackendContractTests
{
    /// <summary>The clock the backend was created with.</summary>
    protected FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    /// <summary>Creates a backend holding at most <paramref name="capacity"/> flows with <paramref name="queueDepth"/> operations in flight.</summary>
    protected abstract FlowBackend CreateBackend(int capacity, int queueDepth, TimeProvider time);

    /// <summary>Passes one packet of <paramref name="bytes"/> through the installed flow <paramref name="key"/>.</summary>
    protected abstract void SendThrough(FlowBackend backend, in FlowKey key, int bytes);

    private static readonly ActionProgram Deliver = ActionProgram.CreateBuilder()
        .SetDestinationMac(MacAddress.Parse("02:00:00:01:00:02")).Output(2).Build();

    private static readonly ActionProgram Other = ActionProgram.CreateBuilder()
        .SetDestinationMac(MacAddress.Parse("02:00:00:01:00:03")).Output(3).Build();

    /// <summary>A distinct key per <paramref name="i"/>.</summary>
    protected static FlowKey KeyOf(int i) =>
        new(NetAddress.FromV4(0x0A010000u | (uint)(i & 0xFFFF)), (ushort)(1024 + (i >> 16)), NetAddress.Parse("10.1.0.2"), 80, IpProtocol.Tcp, 1, 100);

    private static async Task<FlowCompletion> ApplyOne(FlowBackend backend, FlowOperation op)
    {
        var results = await backend.ApplyAsync(new[] { op });
        return results.Single(c => c.Status != FlowCompletionStatus.Aged);
    }

    [Fact]
    public void Capabilities_DescribeAUsableBackend()
    {
        using var backend = CreateBackend(64, 8, Time);
        backend.Name.Should().NotBeNullOrWhiteSpace();
        backend.Capabilities.MaxFlows.Should().BeGreaterThanOrEqualTo(1);
        backend.Capabilities.QueueDepth.Should().BeGreaterThanOrEqualTo(1);
        backend.Capabilities.Actions.Should().HaveFlag(ActionCapabilities.Output);
        backend.Health.Should().Be(BackendHealth.Healthy);
        backend.Count.Should().Be(0);
    }

    [Fact]
    public async Task Add_NewFlow_CompletesWithCookieAndIsCounted()
    {
        using var backend = CreateBackend(64, 8, Time);
        var c = await ApplyOne(backend, FlowOperation.Add(KeyOf(1), new FlowAction(Deliver, default), cookie: 4242));
        c.Status.Should().Be(FlowCompletionStatus.Success);
        c.Cookie.Should().Be(4242);
        c.Key.Should().Be(KeyOf(1));
        backend.Count.Should().Be(1);
    }

    [Fact]
    public async Task Add_ExistingFlow_ReportsAlreadyExists()
    {
        using var backend = CreateBackend(64, 8, Time);
        await ApplyOne(backend, FlowOperation.Add(KeyOf(1), new FlowAction(Deliver, default)));
        (await ApplyOne(backend, FlowOperation.Add(KeyOf(1), new FlowAction(Other, default)))).Status.Should().Be(FlowCompletionStatus.AlreadyExists);
        backend.Count.Should().Be(1);
    }

    [Fact]
    public async Task UpdateAndRemove_MissingFlow_ReportNotFound()
    {
        using var backend = CreateBackend(64, 8, Time);
        (await ApplyOne(backend, FlowOperation.Update(KeyOf(9), new FlowAction(Deliver, default)))).Status.Should().Be(FlowCompletionStatus.NotFound);
        (await ApplyOne(backend, FlowOperation.Remove(KeyOf(9)))).Status.Should().Be(FlowCompletionStatus.NotFound);
    }

    [Fact]
    public async Task Update_KeepsCountersAndRemoveDeletes()
    {
        using var backend = CreateBackend(64, 8, Time);
        await ApplyOne(backend, FlowOperation.Add(KeyOf(1), new FlowAction(Deliver, default)));
        SendThrough(backend, KeyOf(1), 100);
        (await ApplyOne(backend, FlowOperation.Update(KeyOf(1), new FlowAction(Other, default)))).Status.Should().Be(FlowCompletionStatus.Success);
        if (backend.Capabilities.SupportsCounters)
        {
            backend.TryQueryCounters(KeyOf(1), out var stats).Should().BeTrue();
            stats.Packets.Should().Be(1);
            stats.Bytes.Should().Be(100);
        }
        (await ApplyOne(backend, FlowOperation.Remove(KeyOf(1)))).Status.Should().Be(FlowCompletionStatus.Success);
        backend.Count.Should().Be(0);
        backend.TryQueryCounters(KeyOf(1), out _).Should().BeFalse();
    }

    [Fact]
    public void TrySubmit_QueueDepthReached_ReportsQueueFullUntilPolled()
    {
        using var backend = CreateBackend(1024, 4, Time);
        int accepted = 0;
        SubmitStatus status;
        while ((status = backend.TrySubmit(FlowOperation.Add(KeyOf(accepted), new FlowAction(Deliver, default)))) == SubmitStatus.Accepted)
        {
            accepted++;
            accepted.Should().BeLessThan(1000, "a finite queue must push back");
        }
        status.Should().Be(SubmitStatus.QueueFull);
        accepted.Should().BeGreaterThanOrEqualTo(1).And.BeLessThanOrEqualTo(backend.Capabilities.QueueDepth);
        var completions = new FlowCompletion[64];
        int polled = 0;
        SpinWait.SpinUntil(() => (polled += backend.PollCompletions(completions.AsSpan(polled))) >= accepted, TimeSpan.FromSeconds(10));
        polled.Should().Be(accepted);
        backend.TrySubmit(FlowOperation.Add(KeyOf(accepted), new FlowAction(Deliver, default))).Should().Be(SubmitStatus.Accepted);
    }

    [Fact]
    public async Task ApplyAsync_LargeBatchThroughSmallQueue_EveryOperationCompletesOnce()
    {
        using var backend = CreateBackend(4096, 16, Time);
        var ops = Enumerable.Range(0, 2000).Select(i => FlowOperation.Add(KeyOf(i), new FlowAction(i % 2 == 0 ? Deliver : Other, default), cookie: i)).ToList();
        var results = await backend.ApplyAsync(ops);
        results.Where(r => r.Status != FlowCompletionStatus.Aged).Select(r => r.Cookie).Should().BeEquivalentTo(Enumerable.Range(0, 2000).Select(i => (long)i));
        results.Should().OnlyContain(r => r.Status == FlowCompletionStatus.Success);
        backend.Count.Should().Be(2000);
    }

    [Fact]
    public async Task Add_TableFull_ReportsTableFullNeverSilently_AndRecoversAfterRemove()
    {
        using var backend = CreateBackend(8, 8, Time);
        int capacity = backend.Capabilities.MaxFlows;
        var ops = Enumerable.Range(0, capacity + 3).Select(i => FlowOperation.Add(KeyOf(i), new FlowAction(Deliver, default), cookie: i)).ToList();
        var results = await backend.ApplyAsync(ops);
        results.Count(r => r.Status == FlowCompletionStatus.Success).Should().Be(capacity);
        results.Count(r => r.Status == FlowCompletionStatus.TableFull).Should().Be(3);
        results.Where(r => r.Status == FlowCompletionStatus.TableFull).Should().OnlyContain(r => r.Detail != null);
        await ApplyOne(backend, FlowOperation.Remove(KeyOf(0)));
        (await ApplyOne(backend, FlowOperation.Add(KeyOf(capacity), new FlowAction(Deliver, default)))).Status.Should().Be(FlowCompletionStatus.Success);
    }

    [Fact]
    public async Task Counters_CountTrafficThroughTheFlow()
    {
        using var backend = CreateBackend(64, 8, Time);
        if (!backend.Capabilities.SupportsCounters)
            return;
        await ApplyOne(backend, FlowOperation.Add(KeyOf(1), new FlowAction(Deliver, default)));
        SendThrough(backend, KeyOf(1), 64);
        SendThrough(backend, KeyOf(1), 1500);
        backend.TryQueryCounters(KeyOf(1), out var stats).Should().BeTrue();
        stats.Packets.Should().Be(2);
        stats.Bytes.Should().Be(1564);
    }

    [Fact]
    public async Task Aging_IdleFlowReportedOnce_ActiveFlowNot()
    {
        using var backend = CreateBackend(64, 8, Time);
        if (!backend.Capabilities.SupportsAging)
            return;
        await ApplyOne(backend, FlowOperation.Add(KeyOf(1), new FlowAction(Deliver, default), idleTimeout: TimeSpan.FromSeconds(5)));
        await ApplyOne(backend, FlowOperation.Add(KeyOf(2), new FlowAction(Deliver, default), idleTimeout: TimeSpan.FromSeconds(5)));
        await ApplyOne(backend, FlowOperation.Add(KeyOf(3), new FlowAction(Deliver, default)));
        var buffer = new FlowCompletion[16];
        int aged1 = 0, aged2 = 0;
        void PollAged()
        {
            int n = backend.PollCompletions(buffer);
            foreach (var c in buffer.AsSpan(0, n))
            {
                if (c.Status != FlowCompletionStatus.Aged)
                    continue;
                c.Key.Should().NotBe(KeyOf(3), "a flow without an idle timeout never ages");
                if (c.Key.Equals(KeyOf(1)))
                    aged1++;
                if (c.Key.Equals(KeyOf(2)))
                    aged2++;
            }
        }
        for (int s = 0; s < 8; s++)
        {
            Time.Advance(TimeSpan.FromSeconds(1));
            SendThrough(backend, KeyOf(2), 60);
            PollAged();
            if (s < 4)
                aged1.Should().Be(0, "flow 1 is not idle for 5 s yet");
        }
        aged1.Should().Be(1, "flow 1 was idle past its timeout, reported once");
        aged2.Should().Be(0, "flow 2 carried traffic every second");
        for (int s = 0; s < 8; s++)
        {
            Time.Advance(TimeSpan.FromSeconds(1));
            PollAged();
        }
        aged2.Should().Be(1, "flow 2 aged once after its traffic stopped");
        aged1.Should().Be(1);
    }

    [Fact]
    public void GetUnsupportedReason_NamesWhatTheBackendCannotDo()
    {
        using var backend = CreateBackend(64, 8, Time);
        var vxlan = ActionProgram.CreateBuilder()
            .Encapsulate(new EncapTemplate(TunnelType.Vxlan, 100, MacAddress.Parse("02:00:00:00:0a:01"), MacAddress.Parse("02:00:00:00:0b:01"),
                NetAddress.Parse("192.0.2.10"), NetAddress.Parse("192.0.2.11")))
            .Output(9).Build();
        string? reason = backend.GetUnsupportedReason(KeyOf(1), new FlowAction(vxlan, default));
        if ((backend.Capabilities.Actions & ActionCapabilities.VxlanEncap) != 0)
            reason.Should().BeNull();
        else
            reason.Should().Contain("VxlanEncap");
        var v6 = new FlowKey(NetAddress.Parse("2001:db8::1"), 1, NetAddress.Parse("2001:db8::2"), 2, IpProtocol.Udp, 1, 100);
        string? v6Reason = backend.GetUnsupportedReason(v6, new FlowAction(Deliver, default));
        if ((backend.Capabilities.Match & MatchCapabilities.IPv6) != 0)
            v6Reason.Should().BeNull();
        else
            v6Reason.Should().Contain("IPv6");
    }

    [Fact]
    public async Task Add_RoutedFlowWithTtlDecrement_AcceptedAndForwardsExactlyWhenTheCapabilityIsClaimed()
    {
        using var backend = CreateBackend(64, 8, Time);
        var routed = ActionProgram.CreateBuilder()
            .SetSourceMac(MacAddress.Parse("02:00:00:00:ff:fe")).SetDestinationMac(MacAddress.Parse("02:00:00:01:00:02")).DecrementTtl().Output(2).Build();
        bool claimed = (backend.Capabilities.Actions & ActionCapabilities.DecrementTtl) != 0;
        string? reason = backend.GetUnsupportedReason(KeyOf(1), new FlowAction(routed, default));
        var c = await ApplyOne(backend, FlowOperation.Add(KeyOf(1), new FlowAction(routed, default)));
        if (claimed)
        {
            reason.Should().BeNull();
            c.Status.Should().Be(FlowCompletionStatus.Success);
            SendThrough(backend, KeyOf(1), 100);
        }
        else
        {
            reason.Should().Contain("DecrementTtl");
            c.Status.Should().Be(FlowCompletionStatus.Unsupported);
        }
    }

    [Fact]
    public void Dispose_ThenSubmit_IsUnavailable()
    {
        var backend = CreateBackend(64, 8, Time);
        backend.Dispose();
        backend.TrySubmit(FlowOperation.Add(KeyOf(1), new FlowAction(Deliver, default))).Should().Be(SubmitStatus.Unavailable);
    }
}
