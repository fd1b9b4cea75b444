using System.Runtime.CompilerServices;
using Offload.Actions;
using Offload.Backends.Software;
using Offload.Flows;

namespace Offload.Tests.Flows;

/// <summary>The software backend's flow record must stay two cache lines with its counters inside: a hit then
/// touches the index line and those two lines, nothing else (PERF.md P1, P2, P4).</summary>
public unsafe class FlowRecordLayoutTests
{
    [Fact]
    public void FastPathRecord_KeyValueAndCounters_FitTwoLines()
    {
        Unsafe.SizeOf<NatRewrite>().Should().Be(24);
        Unsafe.SizeOf<FastPathEntry>().Should().Be(48);
        var record = default(FlowRecord<FastPathEntry>);
        byte* start = (byte*)&record;
        sizeof(FlowRecord<FastPathEntry>).Should().BeLessThanOrEqualTo(128);
        ((byte*)&record.Key - start).Should().BeLessThan(64 - sizeof(FlowKey) + 1, "the key is compared on the first line");
        ((byte*)&record.Counters - start + sizeof(FlowCounters)).Should().BeLessThanOrEqualTo(128);
    }

    [Fact]
    public void Table_CountersLiveInTheRecord_AllocatedBytesHasNoCounterArray()
    {
        using var table = new FlowTable<FastPathEntry>(1024, hashSeed: 1);
        // records (128 B each) + free list (4 B each) + index (2048 slots of 8 B).
        table.AllocatedBytes.Should().Be(1024L * 128 + 1024L * 4 + 2048L * 8);
    }
}
