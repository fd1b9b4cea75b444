using CsCheck;
using Offload.Flows;

namespace Offload.Tests.Flows;

/// <summary>Random operation sequences run against the table and against a <see cref="Dictionary{TKey, TValue}"/> model.</summary>
public class FlowTableModelTests
{
    private enum Op { Add, Update, Remove, Lookup, BatchLookup, Clear }

    private static readonly Gen<(Op Op, int Key, long Value)> GenOp =
        Gen.Select(Gen.Int[0, 99], Gen.Int[0, 23], Gen.Long, (kind, key, value) => (kind switch
        {
            < 30 => Op.Add,
            < 45 => Op.Update,
            < 70 => Op.Remove,
            < 88 => Op.Lookup,
            < 98 => Op.BatchLookup,
            _ => Op.Clear,
        }, key, value));

    [Fact]
    public void RandomOperations_AgreeWithDictionaryModel()
    {
        // 24 key indices over a pool that may hold duplicates, small capacities so Full and tombstones are common.
        Gen.Select(FlowKeyTests.GenKey.Array[24], Gen.Int[1, 20], Gen.ULong, GenOp.Array[1, 200])
           .Sample((pool, capacity, seed, ops) =>
        {
            using var table = new FlowTable<Payload>(capacity, seed);
            var model = new Dictionary<FlowKey, Payload>();
            var handles = new int[pool.Length];
            var values = new Payload[pool.Length];

            foreach (var (op, k, v) in ops)
            {
                FlowKey key = pool[k];
                Payload value = Payload.Of(v);
                switch (op)
                {
                    case Op.Add:
                        var status = table.TryAdd(key, value, 0, out int handle);
                        if (model.ContainsKey(key))
                        {
                            status.Should().Be(FlowTableStatus.Exists);
                            table.TryLookup(key, out int existing, out _);
                            handle.Should().Be(existing);
                        }
                        else if (model.Count == capacity)
                        {
                            status.Should().Be(FlowTableStatus.Full);
                        }
                        else
                        {
                            status.Should().Be(FlowTableStatus.Added);
                            model[key] = value;
                        }
                        break;
                    case Op.Update:
                        table.TryUpdate(key, value).Should().Be(model.ContainsKey(key));
                        if (model.ContainsKey(key))
                            model[key] = value;
                        break;
                    case Op.Remove:
                        table.TryRemove(key, out Payload removed).Should().Be(model.Remove(key, out Payload expected));
                        removed.Should().Be(expected);
                        break;
                    case Op.Lookup:
                        table.TryLookup(key, out _, out Payload found).Should().Be(model.TryGetValue(key, out Payload want));
                        found.Should().Be(want);
                        break;
                    case Op.BatchLookup:
                        int hits = table.LookupBatch(pool, handles, values);
                        int expectedHits = 0;
                        for (int i = 0; i < pool.Length; i++)
                        {
                            bool present = model.TryGetValue(pool[i], out Payload modelValue);
                            (handles[i] >= 0).Should().Be(present);
                            values[i].Should().Be(modelValue);
                            if (present)
                                expectedHits++;
                        }
                        hits.Should().Be(expectedHits);
                        break;
                    case Op.Clear:
                        table.Clear();
                        model.Clear();
                        break;
                }
                table.Count.Should().Be(model.Count);
            }

            var live = new Dictionary<FlowKey, Payload>();
            foreach (var entry in table)
                live.Add(entry.Key, entry.Value);
            live.Should().BeEquivalentTo(model);
        }, iter: 2000);
    }
}
