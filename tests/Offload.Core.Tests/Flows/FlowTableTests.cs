using CsCheck;
using Offload.Flows;
using Offload.Packets;
using Xunit.Abstractions;

namespace Offload.Tests.Flows;

/// <summary>A 32-byte value, the size the software backend stores per flow.</summary>
internal readonly record struct Payload(long A, long B, long C, long D)
{
    public static Payload Of(long x) => new(x, ~x, x * 3, x ^ 0x5555);
}

public class FlowTableTests(ITestOutputHelper output)
{
    internal static FlowKey Key(int i) =>
        new(NetAddress.FromV4(0x0A00_0000u + (uint)i), (ushort)(i * 7), NetAddress.FromV4(0x0A01_0001u), 80, IpProtocol.Tcp, 1, 100);

    [Fact]
    public void TryAdd_NewKey_LookupReturnsValueAndHandle()
    {
        using var table = new FlowTable<Payload>(16);

        table.TryAdd(Key(1), Payload.Of(1), 10, out int handle).Should().Be(FlowTableStatus.Added);

        table.TryLookup(Key(1), out int found, out Payload value).Should().BeTrue();
        found.Should().Be(handle);
        value.Should().Be(Payload.Of(1));
        table.TryLookup(Key(2), out int missHandle, out _).Should().BeFalse();
        missHandle.Should().Be(-1);
        table.Count.Should().Be(1);
        table.Capacity.Should().Be(16);
    }

    [Fact]
    public void TryAdd_ExistingKey_ReturnsExistsWithItsHandleAndKeepsValue()
    {
        using var table = new FlowTable<Payload>(16);
        table.TryAdd(Key(1), Payload.Of(1), 0, out int first);

        table.TryAdd(Key(1), Payload.Of(2), 0, out int again).Should().Be(FlowTableStatus.Exists);

        again.Should().Be(first);
        table.TryLookup(Key(1), out _, out Payload value);
        value.Should().Be(Payload.Of(1));
        table.Count.Should().Be(1);
    }

    [Fact]
    public void TryUpdate_PresentKey_ChangesValueAndKeepsCounters()
    {
        using var table = new FlowTable<Payload>(16);
        table.TryAdd(Key(1), Payload.Of(1), 5, out int handle);
        table.RecordHit(handle, 100, 7);

        table.TryUpdate(Key(1), Payload.Of(9)).Should().BeTrue();

        table.TryLookup(Key(1), out _, out Payload value);
        value.Should().Be(Payload.Of(9));
        table.GetStats(Key(1)).Should().Be(new FlowStats(1, 100, 7));
        table.TryUpdate(Key(2), Payload.Of(9)).Should().BeFalse();
    }

    [Fact]
    public void TryRemove_PresentKey_ReturnsValueAndLaterLookupMisses()
    {
        using var table = new FlowTable<Payload>(16);
        table.TryAdd(Key(1), Payload.Of(1), 0, out _);
        table.TryAdd(Key(2), Payload.Of(2), 0, out _);

        table.TryRemove(Key(1), out Payload removed).Should().BeTrue();

        removed.Should().Be(Payload.Of(1));
        table.TryLookup(Key(1), out _, out _).Should().BeFalse();
        table.TryLookup(Key(2), out _, out Payload other).Should().BeTrue();
        other.Should().Be(Payload.Of(2));
        table.TryRemove(Key(1), out _).Should().BeFalse();
        table.Count.Should().Be(1);
    }

    [Fact]
    public void TryAdd_AtCapacity_ReturnsFullUntilAnEntryIsRemoved()
    {
        using var table = new FlowTable<Payload>(4);
        for (int i = 0; i < 4; i++)
            table.TryAdd(Key(i), Payload.Of(i), 0, out _).Should().Be(FlowTableStatus.Added);

        table.TryAdd(Key(10), Payload.Of(10), 0, out int handle).Should().Be(FlowTableStatus.Full);
        handle.Should().Be(-1);
        table.TryLookup(Key(10), out _, out _).Should().BeFalse();
        table.TryAdd(Key(2), Payload.Of(2), 0, out _).Should().Be(FlowTableStatus.Exists, "a present key is reported even when full");

        table.TryRemove(Key(2), out _);
        table.TryAdd(Key(10), Payload.Of(10), 0, out _).Should().Be(FlowTableStatus.Added);
        table.TryLookup(Key(10), out _, out Payload value).Should().BeTrue();
        value.Should().Be(Payload.Of(10));
        table.Count.Should().Be(4);
    }

    [Fact]
    public void AddRemoveChurn_MillionsOfCyclesOnSmallTable_LookupsStayCorrectAndIndexIsRebuilt()
    {
        const int capacity = 64, pool = 256;
        using var table = new FlowTable<long>(capacity, hashSeed: 3);
        var present = new long[pool]; // 0 = absent, else the value stored
        var random = new Random(11);
        int count = 0;
        for (int cycle = 0; cycle < 2_000_000; cycle++)
        {
            int k = random.Next(pool);
            // Plain checks inside the loop: assertion objects per cycle would dominate the run time.
            if (present[k] == 0)
            {
                var status = table.TryAdd(Key(k), cycle + 1, 0, out _);
                if (status != (count < capacity ? FlowTableStatus.Added : FlowTableStatus.Full))
                    Assert.Fail($"cycle {cycle}: add of key {k} gave {status} at count {count}");
                if (status == FlowTableStatus.Added)
                {
                    present[k] = cycle + 1;
                    count++;
                }
            }
            else
            {
                if (!table.TryRemove(Key(k), out long removed) || removed != present[k])
                    Assert.Fail($"cycle {cycle}: remove of key {k} failed or returned {removed}, expected {present[k]}");
                present[k] = 0;
                count--;
            }

            int probe = random.Next(pool);
            bool hit = table.TryLookup(Key(probe), out _, out long value);
            if (hit != (present[probe] != 0) || (hit && value != present[probe]))
                Assert.Fail($"cycle {cycle}: key {probe} lookup {hit}/{value}, expected {present[probe]}");
        }

        table.Count.Should().Be(count);
        for (int k = 0; k < pool; k++)
        {
            table.TryLookup(Key(k), out _, out long value).Should().Be(present[k] != 0);
            if (present[k] != 0)
                value.Should().Be(present[k]);
        }
        table.IndexRebuilds.Should().BeGreaterThan(0);
        output.WriteLine($"index rebuilds: {table.IndexRebuilds} over {table.SlotCount} slots");
    }

    [Fact]
    public void LookupBatch_AnyKeys_AgreesWithSingleLookups()
    {
        // Batches longer than MaxBatch exercise the chunking; absent keys mix with present ones.
        Gen.Select(FlowKeyTests.GenKey.Array[1, 300], Gen.Int[0, 150], Gen.ULong).Sample((keys, present, seed) =>
        {
            using var table = new FlowTable<Payload>(256, seed);
            int stored = Math.Min(present, keys.Length);
            for (int i = 0; i < stored; i++)
                table.TryAdd(keys[i], Payload.Of(i), 0, out _);

            var handles = new int[keys.Length];
            var values = new Payload[keys.Length];
            int hits = table.LookupBatch(keys, handles, values);

            int expectedHits = 0;
            for (int i = 0; i < keys.Length; i++)
            {
                bool hit = table.TryLookup(keys[i], out int handle, out Payload value);
                handles[i].Should().Be(handle);
                values[i].Should().Be(value);
                if (hit)
                    expectedHits++;
                else
                    i.Should().BeGreaterThanOrEqualTo(stored);
            }
            hits.Should().Be(expectedHits);
        }, iter: 300);
    }

    [Fact]
    public void Lookups_RecordBeingWritten_ReportMissUntilTheWriteEnds()
    {
        using var table = new FlowTable<Payload>(8);
        table.TryAdd(Key(1), Payload.Of(1), 0, out int handle);
        FlowKey[] keys = [Key(1)];
        var handles = new int[1];
        var values = new Payload[1];

        table.SetRecordBeingWrittenForTest(handle, writing: true);
        table.TryLookup(Key(1), out int during, out Payload duringValue).Should().BeFalse();
        during.Should().Be(-1);
        duringValue.Should().Be(default(Payload));
        table.LookupBatch(keys, handles, values).Should().Be(0);
        handles[0].Should().Be(-1);

        table.SetRecordBeingWrittenForTest(handle, writing: false);
        table.TryLookup(Key(1), out _, out Payload after).Should().BeTrue();
        after.Should().Be(Payload.Of(1));
        table.LookupBatch(keys, handles, values).Should().Be(1);
        handles[0].Should().Be(handle);
    }

    [Fact]
    public void LookupBatch_ShortOutputSpans_Throws()
    {
        using var table = new FlowTable<long>(4);
        var act = () => table.LookupBatch(new FlowKey[3], new int[2], new long[3]);
        act.Should().Throw<ArgumentException>();
    }

    [Fact]
    public void RecordHit_ManyHits_CountsPacketsBytesAndLastSeen()
    {
        using var table = new FlowTable<long>(8);
        table.TryAdd(Key(1), 1, 1000, out int handle);
        table.TryGetEntry(handle, out _, out _, out FlowStats fresh).Should().BeTrue();
        fresh.Should().Be(new FlowStats(0, 0, 1000));

        table.RecordHit(handle, 60, 1100);
        table.RecordHit(handle, 1500, 1200);
        table.RecordHits([handle, -1, handle], [40, 999, 100], 1300);

        table.GetStats(Key(1)).Should().Be(new FlowStats(4, 1700, 1300));
        table.GetStats(Key(2)).Should().Be(default(FlowStats));
    }

    [Fact]
    public void RecordHit_ConcurrentThreads_LosesNoCount()
    {
        using var table = new FlowTable<long>(8);
        table.TryAdd(Key(1), 1, 0, out int handle);

        Parallel.For(0, 4, _ =>
        {
            for (int i = 0; i < 100_000; i++)
                table.RecordHit(handle, 3, i);
        });

        var stats = table.GetStats(Key(1));
        stats.Packets.Should().Be(400_000);
        stats.Bytes.Should().Be(1_200_000);
    }

    [Fact]
    public void TryAdd_ReusedEntry_StartsWithFreshCounters()
    {
        using var table = new FlowTable<long>(1);
        table.TryAdd(Key(1), 1, 0, out int handle);
        table.RecordHit(handle, 100, 5);
        table.TryRemove(Key(1), out _);

        table.TryAdd(Key(2), 2, 50, out int reused);

        reused.Should().Be(handle);
        table.GetStats(Key(2)).Should().Be(new FlowStats(0, 0, 50));
        table.TryGetEntry(reused, out FlowKey key, out long value, out _).Should().BeTrue();
        key.Should().Be(Key(2));
        value.Should().Be(2);
    }

    [Fact]
    public void TryGetEntry_RemovedOrInvalidHandle_ReturnsFalse()
    {
        using var table = new FlowTable<long>(8);
        table.TryAdd(Key(1), 1, 0, out int handle);
        table.TryRemove(Key(1), out _);

        table.TryGetEntry(handle, out _, out _, out _).Should().BeFalse();
        table.TryGetEntry(-1, out _, out _, out _).Should().BeFalse();
        table.TryGetEntry(7, out _, out _, out _).Should().BeFalse();
        table.TryGetEntry(8, out _, out _, out _).Should().BeFalse();
    }

    [Fact]
    public void CollectIdle_SlicedScan_ReturnsExactlyTheIdleEntriesAndWrapsCursor()
    {
        using var table = new FlowTable<long>(200);
        var handleOf = new Dictionary<int, int>();
        for (int i = 0; i < 100; i++)
        {
            table.TryAdd(Key(i), i, 0, out int h);
            handleOf[i] = h;
        }
        for (int i = 0; i < 100; i += 2)
            table.RecordHit(handleOf[i], 64, 100);
        table.TryRemove(Key(1), out _); // removed entries are not reported

        var idle = new HashSet<int>();
        Span<int> slice = stackalloc int[7];
        int cursor = 0, calls = 0;
        do
        {
            int n = table.CollectIdle(50, slice, ref cursor);
            for (int j = 0; j < n; j++)
                idle.Add(slice[j]).Should().BeTrue("one pass reports an entry once");
            calls++;
        }
        while (cursor != 0 && calls < 1000);

        cursor.Should().Be(0);
        var expected = new HashSet<int>();
        for (int i = 3; i < 100; i += 2)
            expected.Add(handleOf[i]);
        idle.Should().BeEquivalentTo(expected);
        calls.Should().BeGreaterThan(1, "7 handles per call cannot hold 49 idle entries");
    }

    [Fact]
    public void CollectIdle_MaxScan_BoundsTheWorkPerCall()
    {
        using var table = new FlowTable<long>(100);
        for (int i = 0; i < 100; i++)
            table.TryAdd(Key(i), i, 0, out _);
        var handles = new int[100];
        int cursor = 0;

        table.CollectIdle(1, handles, ref cursor, maxScan: 30).Should().Be(30);
        cursor.Should().Be(30);
        table.CollectIdle(1, handles, ref cursor, maxScan: 1000).Should().Be(70);
        cursor.Should().Be(0);
        table.CollectIdle(0, handles, ref cursor).Should().Be(0, "nothing is older than tick 0");
    }

    [Fact]
    public void TryRemoveIdle_EntryHitAfterCollection_IsKept()
    {
        using var table = new FlowTable<long>(8);
        table.TryAdd(Key(1), 1, 0, out int busy);
        table.TryAdd(Key(2), 2, 0, out int quiet);
        table.RecordHit(busy, 10, 100);

        table.TryRemoveIdle(busy, 50, out _, out _).Should().BeFalse();
        table.TryRemoveIdle(quiet, 50, out FlowKey key, out long value).Should().BeTrue();

        key.Should().Be(Key(2));
        value.Should().Be(2);
        table.TryLookup(Key(2), out _, out _).Should().BeFalse();
        table.TryLookup(Key(1), out _, out _).Should().BeTrue();
        table.TryRemoveIdle(quiet, 50, out _, out _).Should().BeFalse("already removed");
    }

    [Fact]
    public void Enumerator_AfterAddsAndRemoves_YieldsExactlyTheLiveEntries()
    {
        using var table = new FlowTable<Payload>(64);
        for (int i = 0; i < 50; i++)
            table.TryAdd(Key(i), Payload.Of(i), i, out _);
        for (int i = 0; i < 50; i += 3)
            table.TryRemove(Key(i), out _);
        table.TryAdd(Key(100), Payload.Of(100), 7, out int reused);
        table.RecordHit(reused, 42, 8);

        var seen = new Dictionary<FlowKey, Payload>();
        foreach (var entry in table)
        {
            seen.Add(entry.Key, entry.Value);
            table.TryGetEntry(entry.Handle, out FlowKey key, out _, out FlowStats stats).Should().BeTrue();
            key.Should().Be(entry.Key);
            stats.Should().Be(entry.Stats);
        }

        var expected = new Dictionary<FlowKey, Payload> { [Key(100)] = Payload.Of(100) };
        for (int i = 0; i < 50; i++)
        {
            if (i % 3 != 0)
                expected[Key(i)] = Payload.Of(i);
        }
        seen.Should().BeEquivalentTo(expected);
        table.Count.Should().Be(expected.Count);
    }

    [Fact]
    public void Clear_PopulatedTable_EmptiesItAndAllowsRefill()
    {
        using var table = new FlowTable<long>(8);
        for (int i = 0; i < 8; i++)
            table.TryAdd(Key(i), i, 0, out _);

        table.Clear();

        table.Count.Should().Be(0);
        table.TryLookup(Key(3), out _, out _).Should().BeFalse();
        int enumerated = 0;
        foreach (var _ in table)
            enumerated++;
        enumerated.Should().Be(0);
        for (int i = 10; i < 18; i++)
            table.TryAdd(Key(i), i, 0, out _).Should().Be(FlowTableStatus.Added);
        table.TryAdd(Key(99), 99, 0, out _).Should().Be(FlowTableStatus.Full);
        table.TryLookup(Key(17), out _, out long value).Should().BeTrue();
        value.Should().Be(17);
    }

    [Fact]
    public void Constructor_FourMillionCapacity_Works()
    {
        const int capacity = 4_194_304;
        using var table = new FlowTable<long>(capacity);
        for (int i = 0; i < 1000; i++)
            table.TryAdd(Key(i), i, 0, out _).Should().Be(FlowTableStatus.Added);

        table.Capacity.Should().Be(capacity);
        table.TryLookup(Key(999), out _, out long value).Should().BeTrue();
        value.Should().Be(999);
        table.SlotCount.Should().Be(2L * capacity);
        table.AllocatedBytes.Should().BeGreaterThan(capacity * 64L);
        output.WriteLine($"4M-entry FlowTable<long>: {table.AllocatedBytes:N0} bytes allocated ({table.AllocatedBytes / (double)capacity:F1} B/entry)");
    }

    [Fact]
    public void FillToCapacity_OneMillion32ByteValues_AllFoundThenFull()
    {
        const int capacity = 1_000_000;
        using var table = new FlowTable<Payload>(capacity);
        for (int i = 0; i < capacity; i++)
        {
            if (table.TryAdd(Key(i), Payload.Of(i), 0, out _) != FlowTableStatus.Added)
                Assert.Fail($"insert {i} failed");
        }

        table.TryAdd(Key(capacity), Payload.Of(0), 0, out _).Should().Be(FlowTableStatus.Full);
        var keys = new FlowKey[FlowTable<Payload>.MaxBatch];
        var handles = new int[keys.Length];
        var values = new Payload[keys.Length];
        for (int start = 0; start < capacity; start += 9973 * keys.Length)
        {
            for (int j = 0; j < keys.Length; j++)
                keys[j] = Key((start + (j * 9973)) % capacity);
            table.LookupBatch(keys, handles, values).Should().Be(keys.Length);
            values[5].Should().Be(Payload.Of((start + (5 * 9973)) % capacity));
        }
        table.AllocatedBytes.Should().BeLessThan(256L * capacity);
        output.WriteLine($"1M-entry FlowTable<32-byte value>: {table.AllocatedBytes:N0} bytes = {table.AllocatedBytes / (double)capacity:F1} B/entry " +
                         $"({table.SlotCount:N0} index slots of 8 B)");
    }

    [Fact]
    public void Dispose_ThenControlPlaneUse_ThrowsObjectDisposed()
    {
        var table = new FlowTable<long>(8);
        table.TryAdd(Key(1), 1, 0, out _);
        table.Dispose();
        table.Dispose(); // idempotent

        FluentActions.Invoking(() => table.TryAdd(Key(2), 2, 0, out _)).Should().Throw<ObjectDisposedException>();
        FluentActions.Invoking(() => table.TryUpdate(Key(1), 2)).Should().Throw<ObjectDisposedException>();
        FluentActions.Invoking(() => table.TryRemove(Key(1), out _)).Should().Throw<ObjectDisposedException>();
        FluentActions.Invoking(table.Clear).Should().Throw<ObjectDisposedException>();
        FluentActions.Invoking(() => table.TryGetEntry(0, out _, out _, out _)).Should().Throw<ObjectDisposedException>();
        FluentActions.Invoking(() => table.GetStats(Key(1))).Should().Throw<ObjectDisposedException>();
        FluentActions.Invoking(() => table.GetEnumerator()).Should().Throw<ObjectDisposedException>();
        int cursor = 0;
        FluentActions.Invoking(() => table.CollectIdle(1, new int[4], ref cursor)).Should().Throw<ObjectDisposedException>();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(FlowTable<long>.MaxCapacity + 1)]
    public void Constructor_InvalidCapacity_Throws(int capacity)
    {
        FluentActions.Invoking(() => new FlowTable<long>(capacity)).Should().Throw<ArgumentOutOfRangeException>();
    }
}
