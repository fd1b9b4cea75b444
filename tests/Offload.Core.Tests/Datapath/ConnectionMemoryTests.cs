using System.Buffers.Binary;
using Microsoft.Extensions.Time.Testing;
using Offload.Backends.Software;
using Offload.Datapath;
using Offload.Packets;
using Xunit.Abstractions;

namespace Offload.Tests.Datapath;

[CollectionDefinition(nameof(MemoryMeasurement), DisableParallelization = true)]
public sealed class MemoryMeasurement;

/// <summary>
/// Memory per tracked bidirectional connection (PERF.md P4 sets the goal; the benchmark measures it
/// against nf_conntrack). Runs alone so other tests' allocations do not blur the managed-heap figure.
/// </summary>
[Collection(nameof(MemoryMeasurement))]
public class ConnectionMemoryTests(ITestOutputHelper output)
{
    [Fact]
    public void OneMillionConnections_BothFlowsAndConntrack_BytesPerConnectionReported()
    {
        const int connections = 1_000_000;
        var options = new DatapathOptions();
        options.Conntrack.MaxEntries = connections;
        var policy = new StaticSlowPath { RecordRequests = false };
        var sink = new CountingSink();
        // A stopped clock: on a loaded machine the run can outlast the 30 s UDP timeout, and expiry is not what this measures.
        var time = new FakeTimeProvider();
        using var backend = new SoftwareBackend(new SoftwareBackendOptions { Capacity = 2 * connections }, time);
        using var datapath = new Offload.Datapath.Datapath(options, policy, backend, sink, time);
        datapath.AddPort(DatapathTestBed.Vm1, "vm1", DatapathTestBed.Vni);
        datapath.AddPort(DatapathTestBed.Vm2, "vm2", DatapathTestBed.Vni);
        policy.AddRoute(DatapathTestBed.Vni, "10.1.0.1", new StaticSlowPath.Route(DatapathTestBed.Vm1, TestFrames.Vm1Mac, TestFrames.GatewayMac, DatapathTestBed.Vm1));
        policy.AddRoute(DatapathTestBed.Vni, "10.1.0.2", new StaticSlowPath.Route(DatapathTestBed.Vm2, TestFrames.Vm2Mac, TestFrames.GatewayMac, DatapathTestBed.Vm2));

        byte[] template = TestFrames.Udp("10.1.0.1", 1, "10.1.0.2", 1, payload: 18);
        template[14 + 20 + 6] = 0; // UDP checksum "none": the ports below change without recomputing it
        template[14 + 20 + 7] = 0;
        var frames = new InputFrame[64];
        for (int i = 0; i < frames.Length; i++)
            frames[i] = new InputFrame(PacketBuffer.CopyOf(template), DatapathTestBed.Vm1);

        long managedBefore = GC.GetTotalMemory(forceFullCollection: true);
        for (int c = 0; c < connections; c += frames.Length)
        {
            int n = Math.Min(frames.Length, connections - c);
            for (int i = 0; i < n; i++)
            {
                int id = c + i;
                ref var f = ref frames[i];
                f.Buffer.Offset = PacketBuffer.DefaultHeadroom;
                f.Buffer.Length = template.Length;
                template.CopyTo(f.Buffer.Array, PacketBuffer.DefaultHeadroom);
                var udp = f.Buffer.Array.AsSpan(PacketBuffer.DefaultHeadroom + 34);
                BinaryPrimitives.WriteUInt16BigEndian(udp, (ushort)(1024 + id % 60000));
                BinaryPrimitives.WriteUInt16BigEndian(udp.Slice(2), (ushort)(1 + id / 60000));
            }
            datapath.Process(frames.AsSpan(0, n));
        }
        datapath.Poll();
        long managedAfter = GC.GetTotalMemory(forceFullCollection: true);

        datapath.Conntrack.Count.Should().Be(connections);
        backend.Count.Should().Be(2 * connections, "both directions of every connection are installed");
        sink.Forwarded.Should().Be(connections);

        double managed = (double)(managedAfter - managedBefore) / connections;
        double table = (double)backend.AllocatedBytes / connections;
        double slots = (double)datapath.Conntrack.AllocatedBytes / connections;
        output.WriteLine($"connections: {connections:N0}; flows: {backend.Count:N0}");
        output.WriteLine($"managed heap (conntrack index and wheel, datapath records): {managed:F1} B/connection");
        output.WriteLine($"conntrack slots (unmanaged): {slots:F1} B/connection");
        output.WriteLine($"software flow table (2 flows/connection, index included, unmanaged): {table:F1} B/connection");
        output.WriteLine($"total: {managed + slots + table:F1} B per tracked bidirectional connection");
        slots.Should().BeGreaterThanOrEqualTo(192, "every connection holds one 192-byte conntrack slot");
        (managed + slots + table).Should().BeLessThan(2048, "a gross regression in per-connection memory must fail");
    }

    private sealed class CountingSink : IFrameSink
    {
        public long Forwarded;

        public void OnFrame(in FrameResult result, ReadOnlySpan<byte> frame)
        {
            if (result.Verdict == Offload.Actions.ActionVerdict.Output)
                Forwarded++;
        }
    }
}
