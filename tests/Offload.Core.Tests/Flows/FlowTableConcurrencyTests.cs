using Offload.Flows;
using Xunit.Abstractions;

namespace Offload.Tests.Flows;

public class FlowTableConcurrencyTests(ITestOutputHelper output)
{
    private const int Pool = 4096;
    private const int Capacity = 2048;
    private const int WriterOperations = 600_000;
    private const int Hot = 32; // keys that both sides hammer, so readers often meet a record mid-write

    /// <summary>A value that names its key and is self-consistent, so a torn copy or another key's value shows.</summary>
    private static Payload ValueFor(in FlowKey key, long version)
    {
        long h = (long)FlowHash.Hash(in key, 0x1234);
        return new Payload(h, version, ~h, h ^ version);
    }

    private static bool Matches(in FlowKey key, in Payload value)
    {
        long h = (long)FlowHash.Hash(in key, 0x1234);
        return value.A == h && value.C == ~h && value.D == (h ^ value.B);
    }

    [Fact]
    public void ReadersDuringWriterChurn_NeverSeeAValueOfAnotherKeyOrATornValue()
    {
        // The pool is twice the capacity so adds also hit Full, removed entries are reused for other keys at once,
        // and tombstones force index rebuilds while readers probe the old index.
        var keys = new FlowKey[Pool];
        for (int i = 0; i < Pool; i++)
            keys[i] = FlowTableTests.Key(i);
        using var table = new FlowTable<Payload>(Capacity, hashSeed: 5);
        var model = new Dictionary<int, long>();
        int writerDone = 0;
        long mismatches = 0, hits = 0, lookups = 0;

        void Reader(int seed)
        {
            var random = new Random(seed);
            var batch = new FlowKey[FlowTable<Payload>.MaxBatch];
            var handles = new int[batch.Length];
            var values = new Payload[batch.Length];
            long localHits = 0, localLookups = 0, localMismatches = 0;
            while (Volatile.Read(ref writerDone) == 0)
            {
                FlowKey key = keys[random.Next(Hot)];
                if (table.TryLookup(key, out int handle, out Payload value))
                {
                    localHits++;
                    if (!Matches(key, value) || (uint)handle >= Capacity)
                        localMismatches++;
                    table.RecordHit(handle, 64, localLookups);
                }
                localLookups++;

                for (int j = 0; j < batch.Length; j++)
                    batch[j] = keys[random.Next((j & 1) == 0 ? Hot : Pool)];
                localHits += table.LookupBatch(batch, handles, values);
                for (int j = 0; j < batch.Length; j++)
                {
                    if (handles[j] >= 0 && !Matches(batch[j], values[j]))
                        localMismatches++;
                }
                localLookups += batch.Length;
            }
            Interlocked.Add(ref hits, localHits);
            Interlocked.Add(ref lookups, localLookups);
            Interlocked.Add(ref mismatches, localMismatches);
        }

        var readers = new[] { new Thread(() => Reader(1)), new Thread(() => Reader(2)) };
        foreach (var t in readers)
            t.Start();

        var writerRandom = new Random(3);
        for (int op = 0; op < WriterOperations; op++)
        {
            int k = writerRandom.Next((op & 1) == 0 ? Hot : Pool);
            switch (writerRandom.Next(3))
            {
                case 0:
                    if (table.TryAdd(keys[k], ValueFor(keys[k], op), op, out _) == FlowTableStatus.Added)
                        model[k] = op;
                    break;
                case 1:
                    if (table.TryUpdate(keys[k], ValueFor(keys[k], op)))
                        model[k] = op;
                    break;
                default:
                    if (table.TryRemove(keys[k], out _))
                        model.Remove(k);
                    break;
            }
        }
        Volatile.Write(ref writerDone, 1);
        foreach (var t in readers)
            t.Join();

        output.WriteLine($"lookups {lookups:N0}, hits {hits:N0}, index rebuilds {table.IndexRebuilds}");
        mismatches.Should().Be(0);
        hits.Should().BeGreaterThan(0);
        table.IndexRebuilds.Should().BeGreaterThan(0);
        table.Count.Should().Be(model.Count);
        for (int k = 0; k < Pool; k++)
        {
            table.TryLookup(keys[k], out _, out Payload value).Should().Be(model.ContainsKey(k));
            if (model.TryGetValue(k, out long version))
                value.Should().Be(ValueFor(keys[k], version));
        }
    }
}
