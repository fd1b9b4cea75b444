using Microsoft.Extensions.Time.Testing;
using Offload.Actions;
using Offload.Backends;
using Offload.Backends.Software;
using Offload.Doca.Backends;
using Offload.Doca.Tests.Flow;
using Offload.Flows;
using Offload.Packets;
using Polly.CircuitBreaker;

namespace Offload.Doca.Tests.Backends;

[Collection(EmulatorCollection.Name)]
public sealed class ResilientOffloadBackendTests : IDisposable
{
    private const ushort Uplink = 0;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly FlowCompletion[] _buffer = new FlowCompletion[4096];
    private long _failedAnswers;

    private static readonly ActionProgram Deliver = ActionProgram.CreateBuilder()
        .SetDestinationMac(MacAddress.Parse("02:00:00:01:00:02")).Output(2).Build();

    public ResilientOffloadBackendTests(EmulatorFixture fixture)
    {
        _ = fixture;
        EmulatorControl.Reset();
    }

    public void Dispose()
    {
        EmulatorControl.EndTest("the backends must use DOCA in order (no use after remove)");
    }

    private static FlowKey KeyOf(int i) =>
        new(NetAddress.FromV4(0x0A000000u | (uint)i), (ushort)(1024 + (i & 0x3FFF)), NetAddress.Parse("10.200.0.2"), 443, IpProtocol.Tcp, Uplink, 100);

    private ResilientOffloadBackend Create(int hardwareFlows, int softwareFlows) =>
        new(new DocaBackend(new DocaBackendOptions { Ports = [new DocaIngressPort(Uplink)], MaxFlows = hardwareFlows, QueueDepth = 1024, Queues = 2 }),
            new SoftwareBackend(new SoftwareBackendOptions { Capacity = softwareFlows }, _time),
            new ResilientOffloadOptions { MinimumThroughput = 1000, BreakDuration = TimeSpan.FromSeconds(2), ReoffloadPerPoll = 8192 },
            _time);

    private int Poll(FlowBackend backend)
    {
        int n = backend.PollCompletions(_buffer);
        for (int i = 0; i < n; i++)
        {
            if (_buffer[i].Status is not (FlowCompletionStatus.Success or FlowCompletionStatus.Aged))
                _failedAnswers++;
        }
        return n;
    }

    private void Submit(FlowBackend backend, in FlowOperation op)
    {
        SubmitStatus s;
        while ((s = backend.TrySubmit(op)) == SubmitStatus.QueueFull)
            Poll(backend);
        s.Should().Be(SubmitStatus.Accepted);
    }

    // Every live flow is served by exactly one backend: never both, never neither.
    private static void AssertEachFlowInExactlyOnePlace(ResilientOffloadBackend backend, IEnumerable<int> live, bool removalsDone = true)
    {
        int both = 0, neither = 0, count = 0;
        foreach (int i in live)
        {
            FlowKey key = KeyOf(i);
            bool hw = backend.Hardware.IsInstalled(key);
            bool sw = backend.Software.TryLookup(key, out _, out _);
            both += hw && sw ? 1 : 0;
            neither += !hw && !sw ? 1 : 0;
            count++;
        }
        both.Should().Be(0, "a flow is never in both backends");
        neither.Should().Be(0, "no connection is lost");
        if (removalsDone)
            backend.Count.Should().Be(count);
        else
            backend.Count.Should().BeGreaterThanOrEqualTo(count, "flows being removed are still counted until their removal completes");
        backend.Statistics.Lost.Should().Be(0);
    }

    // Polls (advancing the fake clock) until every live flow is on the device.
    private void RunUntilAllOffloaded(ResilientOffloadBackend backend, HashSet<int> live, int maxRounds)
    {
        for (int round = 0; round < maxRounds; round++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(200));
            Poll(backend);
            if (round % 25 == 0)
                AssertEachFlowInExactlyOnePlace(backend, live, removalsDone: false);
            if (backend.Hardware.Count == live.Count && backend.Software.Count == 0)
                return;
        }
        backend.Hardware.Count.Should().Be(live.Count, $"every flow is re-offloaded within {maxRounds} polls");
    }

    [Fact]
    public void Faults_TenPercentOfEachKind_NoConnectionLostAndAllReoffloaded()
    {
        // 100k connections against a 90k-entry device: >= 10% spill (pipe full); 12% of submissions fail
        // with a transient code and 12% of completions are ERROR throughout; then the device dies and recovers.
        const int Connections = 100_000, HardwareFlows = 90_000;
        using var backend = Create(HardwareFlows, 200_000);
        EmulatorFaults.SetEnforcePipeCapacity(true);
        EmulatorControl.SetCompletionErrors(everyNth: 0, perMillion: 120_000, seed: 11);
        var live = new HashSet<int>();
        var action = new FlowAction(Deliver);

        for (int i = 0; i < Connections; i++)
        {
            if (i % 1000 == 0)
            {
                EmulatorControl.FailNextSubmits(120, DocaError.TimeOut);
                _time.Advance(TimeSpan.FromMilliseconds(10));
                Poll(backend);
            }
            Submit(backend, FlowOperation.Add(KeyOf(i), action, cookie: i));
            live.Add(i);
        }
        AssertEachFlowInExactlyOnePlace(backend, live);
        for (int round = 0; round < 400 && backend.Hardware.Count < HardwareFlows; round++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(200));
            Poll(backend);
        }
        backend.Hardware.Count.Should().Be(HardwareFlows, "the device is filled");
        AssertEachFlowInExactlyOnePlace(backend, live);
        backend.GetPlacement(KeyOf(Connections - 1), out var spilled).Should().BeTrue();
        var stats = backend.Statistics;
        string summary = $"doca submit errors {backend.Hardware.SubmitErrors} error completions {backend.Hardware.ErrorCompletions}; submit {stats.SubmitFailures} error {stats.ErrorCompletions} transient {stats.TransientFailures} spills {stats.CapacitySpills} breaker {stats.BreakerOpenings} timeouts {stats.Timeouts} offloaded {stats.Offloaded} re {stats.Reoffloaded}";
        // Submission faults land on adds and on the releases of failed adds alike: the device counts both.
        backend.Hardware.SubmitErrors.Should().BeGreaterThanOrEqualTo(Connections / 10, summary);
        backend.Hardware.ErrorCompletions.Should().BeGreaterThanOrEqualTo(Connections / 10, summary);
        stats.ErrorCompletions.Should().BeGreaterThanOrEqualTo(Connections / 10, summary);
        stats.CapacitySpills.Should().BeGreaterThanOrEqualTo(Connections / 10);

        // 10% of connections close: the spilled flows take their places on the device.
        int closed = 0;
        foreach (int i in live.Where(i => backend.GetPlacement(KeyOf(i), out var p) && p.Placement == FlowPlacement.Hardware).Take(Connections - HardwareFlows).ToList())
        {
            Submit(backend, FlowOperation.Remove(KeyOf(i), cookie: i));
            live.Remove(i);
            closed++;
        }
        closed.Should().Be(Connections - HardwareFlows);
        RunUntilAllOffloaded(backend, live, maxRounds: 400);
        AssertEachFlowInExactlyOnePlace(backend, live);

        // The device dies: every flow moves to software at once; connections keep coming and going.
        EmulatorControl.SetDeviceFatal(Uplink, true);
        Poll(backend);
        backend.Hardware.Health.Should().Be(BackendHealth.Failed);
        backend.Hardware.Count.Should().Be(0);
        backend.Software.Count.Should().Be(live.Count);
        backend.BreakerState.Should().Be(CircuitState.Isolated);
        AssertEachFlowInExactlyOnePlace(backend, live);
        backend.GetPlacement(KeyOf(live.First()), out var moved).Should().BeTrue();
        moved.Should().Match<FlowPlacementInfo>(p => p.Placement == FlowPlacement.Software && p.Reason == NotOffloadedReason.DeviceFailed);
        foreach (int i in live.Take(Connections / 10).ToList())
        {
            Submit(backend, FlowOperation.Remove(KeyOf(i)));
            live.Remove(i);
        }
        for (int i = Connections; i < Connections + Connections / 10; i++)
        {
            Submit(backend, FlowOperation.Add(KeyOf(i), action, cookie: i));
            live.Add(i);
        }
        for (int round = 0; round < 10; round++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(300));
            Poll(backend);
        }
        AssertEachFlowInExactlyOnePlace(backend, live);
        backend.Hardware.Count.Should().Be(0, "nothing is offloaded to a dead device");

        // It comes back: everything is re-offloaded, with the ERROR completions still going on.
        EmulatorControl.SetDeviceFatal(Uplink, false);
        RunUntilAllOffloaded(backend, live, maxRounds: 600);
        AssertEachFlowInExactlyOnePlace(backend, live);
        backend.Hardware.Health.Should().Be(BackendHealth.Healthy);
        stats.DeviceFailures.Should().Be(1);
        stats.Recoveries.Should().Be(1);
        stats.FlowsMovedToSoftware.Should().Be(HardwareFlows);
        stats.Lost.Should().Be(0);
        _failedAnswers.Should().Be(0, "every caller operation succeeded although the device misbehaved");
        foreach (int i in live)
        {
            backend.GetPlacement(KeyOf(i), out var p).Should().BeTrue();
            if (p.Placement != FlowPlacement.Hardware || p.Reason != NotOffloadedReason.None)
                p.Should().Be(new FlowPlacementInfo(FlowPlacement.Hardware, NotOffloadedReason.None, null, 0));
        }
    }

    private ResilientOffloadBackend CreateSmall(int minimumThroughput = 1000) =>
        new(new DocaBackend(new DocaBackendOptions { Ports = [new DocaIngressPort(Uplink)], MaxFlows = 1024, QueueDepth = 64 }),
            new SoftwareBackend(new SoftwareBackendOptions { Capacity = 4096 }, _time),
            new ResilientOffloadOptions { MinimumThroughput = minimumThroughput, BreakDuration = TimeSpan.FromSeconds(2), RecoveryProbeInterval = TimeSpan.FromMilliseconds(500) },
            _time);

    private void Run(FlowBackend backend, int rounds, TimeSpan step)
    {
        for (int i = 0; i < rounds; i++)
        {
            _time.Advance(step);
            Poll(backend);
        }
    }

    [Fact]
    public void Add_UnsupportedByDevice_StaysInSoftwareWithReason_UntilUpdatedToSomethingExpressible()
    {
        using var backend = CreateSmall();
        var metered = ActionProgram.CreateBuilder().Meter(0).Output(2).Build();
        Submit(backend, FlowOperation.Add(KeyOf(1), new FlowAction(metered)));
        Run(backend, 5, TimeSpan.FromMilliseconds(100));

        backend.GetPlacement(KeyOf(1), out var placement).Should().BeTrue();
        placement.Placement.Should().Be(FlowPlacement.Software);
        placement.Reason.Should().Be(NotOffloadedReason.Unsupported);
        placement.Detail.Should().Contain("Meter");
        backend.Software.TryLookup(KeyOf(1), out _, out _).Should().BeTrue();

        Submit(backend, FlowOperation.Update(KeyOf(1), new FlowAction(Deliver)));
        Run(backend, 5, TimeSpan.FromMilliseconds(100));
        backend.GetPlacement(KeyOf(1), out placement).Should().BeTrue();
        placement.Should().Be(new FlowPlacementInfo(FlowPlacement.Hardware, NotOffloadedReason.None, null, 0));
        backend.Software.Count.Should().Be(0);
        _failedAnswers.Should().Be(0);
    }

    [Fact]
    public void ErrorCompletionsOnly_BreakerOpens_FlowsServedInSoftware_ThenClosesAndReoffloads()
    {
        using var backend = CreateSmall(minimumThroughput: 20);
        var live = new HashSet<int>();
        EmulatorControl.SetCompletionErrors(everyNth: 1, perMillion: 0, seed: 1);
        for (int i = 0; i < 200; i++)
        {
            Submit(backend, FlowOperation.Add(KeyOf(i), new FlowAction(Deliver)));
            live.Add(i);
        }
        Run(backend, 20, TimeSpan.FromMilliseconds(100));

        backend.BreakerState.Should().Be(Polly.CircuitBreaker.CircuitState.Open);
        backend.Statistics.BreakerOpenings.Should().BeGreaterThanOrEqualTo(1);
        backend.Hardware.Count.Should().Be(0);
        AssertEachFlowInExactlyOnePlace(backend, live);
        int open = live.Count(i => backend.GetPlacement(KeyOf(i), out var p) && p.Reason == NotOffloadedReason.CircuitOpen);
        open.Should().BeGreaterThan(0, "flows waiting for the breaker say so");

        EmulatorControl.SetCompletionErrors(0, 0, 0);
        RunUntilAllOffloaded(backend, live, maxRounds: 200);
        backend.BreakerState.Should().Be(Polly.CircuitBreaker.CircuitState.Closed);
        AssertEachFlowInExactlyOnePlace(backend, live);
    }

    [Fact]
    public void Remove_WhileHardwareAddInFlight_CompletesAndLeavesNothingBehind()
    {
        using var backend = CreateSmall();
        Submit(backend, FlowOperation.Add(KeyOf(1), new FlowAction(Deliver)));
        Submit(backend, FlowOperation.Remove(KeyOf(1), cookie: 31));
        var seen = new List<FlowCompletion>();
        for (int i = 0; i < 5; i++)
        {
            int n = backend.PollCompletions(_buffer);
            seen.AddRange(_buffer.AsSpan(0, n).ToArray());
        }
        seen.Should().Contain(c => c.Kind == FlowOperationKind.Remove && c.Cookie == 31 && c.Status == FlowCompletionStatus.Success);
        backend.Count.Should().Be(0);
        backend.Hardware.Count.Should().Be(0);
        backend.Software.Count.Should().Be(0);
        EmulatorControl.LiveEntries.Should().Be(0);
        backend.GetPlacement(KeyOf(1), out _).Should().BeFalse();
    }
}
