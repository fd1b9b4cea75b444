using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Offload.Actions;
using Offload.Datapath;
using Offload.Hosting;
using Offload.Packets;

namespace Offload.Tests.Hosting;

public class OffloadPortCountersTests
{
    private static async Task<HostingTestBed> WithTrafficAsync()
    {
        var bed = await HostingTestBed.StartAsync();
        bed.Send("vm1", HostingTestBed.UdpVm1ToVm5(5000));        // forwarded to vm5
        bed.Send("vm5", HostingTestBed.UdpVm5ToVm1(5000));        // the reply, forwarded to vm1
        bed.Send("vm1", HostingTestBed.SshVm1ToVm2());            // dropped by the ACL: in, not out
        bed.Runtime.Process(new[] { new InputFrame(PacketBuffer.CopyOf(new byte[10]), bed.Port("vm1")) }); // malformed
        return bed;
    }

    private static IReadOnlyList<CollectedMeasurement<long>> Collect(HostingTestBed bed, string instrument)
    {
        using var collector = new MetricCollector<long>(bed.Runtime.Meter, instrument);
        collector.RecordObservableInstruments();
        return collector.GetMeasurementSnapshot();
    }

    private static long Tagged(IReadOnlyList<CollectedMeasurement<long>> measurements, string port, string direction) =>
        measurements.Where(m => Equals(m.Tags["offload.port"], port) && Equals(m.Tags["network.io.direction"], direction)).Sum(m => m.Value);

    [Fact]
    public async Task GetPortCounters_AfterTraffic_InEqualsFramesGivenOutEqualsFramesTheSinkSent()
    {
        await using var bed = await WithTrafficAsync();
        var sent = bed.Sink.Frames.Where(f => f.Result.Verdict == ActionVerdict.Output).ToList();

        var counters = bed.Runtime.GetPortCounters();

        var vm1 = counters.Single(c => c.Name == "vm1");
        vm1.InFrames.Should().Be(3);
        vm1.OutFrames.Should().Be(1, "vm5's reply");
        counters.Single(c => c.Name == "vm5").Should().Be(new OffloadPortCounters(bed.Port("vm5"), "vm5", 1,
            HostingTestBed.UdpVm5ToVm1(5000).Length, 1, HostingTestBed.UdpVm1ToVm5(5000).Length));
        vm1.InBytes.Should().Be(HostingTestBed.UdpVm1ToVm5(5000).Length + HostingTestBed.SshVm1ToVm2().Length + 10);
        sent.Should().NotBeEmpty();
        foreach (var c in counters)
        {
            var mine = sent.Where(f => f.Result.OutPort == c.Port).ToList();
            c.OutFrames.Should().Be(mine.Count, $"port {c.Name}");
            c.OutBytes.Should().Be(mine.Sum(f => (long)f.Frame.Length), $"port {c.Name}");
        }
        counters.Sum(c => c.InFrames).Should().Be(bed.Runtime.GetStats().Frames);
        counters.Sum(c => c.OutFrames).Should().Be(sent.Count);
    }

    [Fact]
    public async Task PortInstruments_AfterTraffic_EqualPortCountersTaggedByNameAndDirection()
    {
        await using var bed = await WithTrafficAsync();
        var counters = bed.Runtime.GetPortCounters();

        var packets = Collect(bed, "offload.port.packets");
        var bytes = Collect(bed, "offload.port.bytes");

        packets.Should().HaveCount(counters.Count * 2);
        foreach (var c in counters)
        {
            Tagged(packets, c.Name, "receive").Should().Be(c.InFrames);
            Tagged(packets, c.Name, "transmit").Should().Be(c.OutFrames);
            Tagged(bytes, c.Name, "receive").Should().Be(c.InBytes);
            Tagged(bytes, c.Name, "transmit").Should().Be(c.OutBytes);
        }
        Tagged(packets, "vm1", "receive").Should().Be(3);
        Tagged(packets, "vm5", "transmit").Should().Be(1);
    }

    [Fact]
    public async Task GetPortCounters_AfterStop_KeepTheLastCounts()
    {
        await using var bed = await WithTrafficAsync();
        var before = bed.Runtime.GetPortCounters();
        await bed.Host.StopAsync();

        bed.Runtime.IsRunning.Should().BeFalse();
        bed.Runtime.GetPortCounters().Should().Equal(before);
        Collect(bed, "offload.port.packets").Should().BeEmpty("a stopped switch reports no measurements");
    }
}
