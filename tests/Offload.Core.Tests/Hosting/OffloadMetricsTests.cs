using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Offload.Datapath;
using Offload.Hosting;
using Offload.Packets;

namespace Offload.Tests.Hosting;

public class OffloadMetricsTests
{
    private static async Task<HostingTestBed> WithTrafficAsync(Action<IOffloadBuilder>? builder = null, Action<OffloadOptions>? configure = null)
    {
        var bed = await HostingTestBed.StartAsync(configure, builder);
        bed.Send("vm1", HostingTestBed.UdpVm1ToVm5(5000));        // slow, forwarded, flows installed
        bed.Send("vm5", HostingTestBed.UdpVm5ToVm1(5000));        // fast
        bed.Send("vm5", HostingTestBed.UdpVm5ToVm1(5000));        // fast
        bed.Send("vm1", HostingTestBed.UdpVm1ToVm5(5001));        // slow: a second connection, unreplied
        bed.Send("vm1", HostingTestBed.SshVm1ToVm2());            // slow, dropped by the ACL
        bed.Runtime.Process(new[] { new InputFrame(PacketBuffer.CopyOf(new byte[10]), bed.Port("vm1")) }); // malformed: no lookup
        return bed;
    }

    private static IReadOnlyList<CollectedMeasurement<T>> Collect<T>(HostingTestBed bed, string instrument)
        where T : struct
    {
        using var collector = new MetricCollector<T>(bed.Runtime.Meter, instrument);
        collector.RecordObservableInstruments();
        return collector.GetMeasurementSnapshot();
    }

    private static T Tagged<T>(IReadOnlyList<CollectedMeasurement<T>> measurements, string key, string value)
        where T : struct =>
        measurements.Single(m => Equals(m.Tags[key], value)).Value;

    [Fact]
    public async Task Packets_AfterTraffic_EqualDatapathCountersByPath()
    {
        await using var bed = await WithTrafficAsync();
        var stats = bed.Runtime.GetStats();

        var packets = Collect<long>(bed, "offload.packets");

        stats.FastPathFrames.Should().Be(2);
        stats.SlowPathFrames.Should().Be(3);
        Tagged(packets, "offload.path", "fast").Should().Be(stats.FastPathFrames);
        Tagged(packets, "offload.path", "slow").Should().Be(stats.SlowPathFrames);
        Tagged(packets, "offload.path", "none").Should().Be(1);
        packets.Sum(m => m.Value).Should().Be(stats.Frames);
        Collect<long>(bed, "offload.forwarded").Single().Value.Should().Be(stats.Forwarded).And.Be(4);
    }

    [Fact]
    public async Task Bytes_AfterTraffic_EqualTheFramesTheSinkReceivedByPath()
    {
        await using var bed = await WithTrafficAsync();
        long fast = bed.Sink.Frames.Where(f => f.Result.Path == PacketPath.Fast).Sum(f => (long)f.Frame.Length);
        long slow = bed.Sink.Frames.Where(f => f.Result.Path == PacketPath.Slow).Sum(f => (long)f.Frame.Length);

        var bytes = Collect<long>(bed, "offload.bytes");

        fast.Should().BeGreaterThan(0);
        Tagged(bytes, "offload.path", "fast").Should().Be(fast);
        Tagged(bytes, "offload.path", "slow").Should().Be(slow);
    }

    [Fact]
    public async Task Drops_AfterTraffic_EqualDropsByReason()
    {
        await using var bed = await WithTrafficAsync();
        var byReason = bed.Runtime.GetStats().DropsByReason;

        var drops = Collect<long>(bed, "offload.drops");

        drops.Should().HaveCount(byReason.Count).And.HaveCount(2);
        foreach (var (reason, count) in byReason)
            Tagged(drops, "offload.drop.reason", reason.Name()).Should().Be(count);
        Tagged(drops, "offload.drop.reason", "acl").Should().Be(1);
    }

    [Fact]
    public async Task FlowsAndConntrack_AfterTraffic_EqualDatapathCountersAndStates()
    {
        await using var bed = await WithTrafficAsync();
        var stats = bed.Runtime.GetStats();

        Collect<long>(bed, "offload.flows.installed").Single().Value.Should().Be(stats.FlowsInstalled).And.BeGreaterThan(0);
        Collect<long>(bed, "offload.flows.removed").Single().Value.Should().Be(stats.FlowsRemoved);
        Collect<long>(bed, "offload.flows.install_failures").Single().Value.Should().Be(0);
        var offloaded = Collect<int>(bed, "offload.flows.offloaded");
        Tagged(offloaded, "offload.backend", "software").Should().Be(stats.Flows);

        var entries = Collect<int>(bed, "offload.conntrack.entries");
        entries.Should().HaveCount(12, "every state from SYN_SENT to ASSURED is reported, zero or not");
        entries.Sum(m => m.Value).Should().Be(stats.Connections).And.Be(2);
        Tagged(entries, "offload.conntrack.state", "REPLIED").Should().Be(1);
        Tagged(entries, "offload.conntrack.state", "UNREPLIED").Should().Be(1);
    }

    [Fact]
    public async Task RevalidationDuration_AfterApplyPolicy_RecordsTheRevalidationsElapsedTime()
    {
        await using var bed = await WithTrafficAsync();
        using var collector = new MetricCollector<double>(bed.Runtime.Meter, "offload.revalidation.duration");

        var result = bed.Runtime.ApplyPolicy(HostingTestBed.Policy());

        collector.GetMeasurementSnapshot().Should().ContainSingle()
            .Which.Value.Should().Be(result.Elapsed.TotalSeconds);
        result.Checked.Should().Be(2);
    }

    [Fact]
    public async Task BackendHealth_HardwareFails_ReportsFailedForItAndHealthyForSoftware()
    {
        var factory = new FakeDocaFactory();
        await using var bed = await HostingTestBed.StartAsync(o => o.Backend = OffloadBackendKind.Doca, b => b.AddBackendFactory(factory));
        factory.Created!.Fail("link down");

        var health = Collect<int>(bed, "offload.backend.health");

        health.Should().HaveCount(6);
        health.Where(m => m.Value == 1).Select(m => $"{m.Tags["offload.backend"]}={m.Tags["offload.backend.health"]}")
            .Should().BeEquivalentTo("software=healthy", "doca=failed");
    }

    [Fact]
    public async Task Instruments_AfterStop_ReportNothing()
    {
        var bed = await WithTrafficAsync();
        var meter = bed.Runtime.Meter;
        await bed.Host.StopAsync();

        using var collector = new MetricCollector<long>(meter, "offload.packets");
        collector.RecordObservableInstruments();

        collector.GetMeasurementSnapshot().Should().BeEmpty();
        bed.Host.Dispose();
    }
}
