using Offload.Backends.Software;
using Offload.Flows;

namespace Offload.Benchmarks.Workloads;

/// <summary>
/// P1: <see cref="FlowTable{TValue}.LookupBatch"/> in batches of 32 over 1M installed keys, against
/// <see cref="Dictionary{TKey, TValue}"/> (TryGetValue in a loop) with the same keys and the same random query sequence.
/// </summary>
internal sealed class LookupWorkload : IDisposable
{
    public const int Batch = 32;
    private readonly FlowTable<FastPathEntry> _table;
    private readonly Dictionary<FlowKey, int> _dictionary;
    private readonly FlowKey[] _queries;
    private readonly int[] _handles = new int[Batch];
    private readonly FastPathEntry[] _values = new FastPathEntry[Batch];
    private int _tablePos, _dictPos;

    public long Checksum;

    public LookupWorkload(int flows, int queries = 1 << 21)
    {
        var keys = FlowKeys.Distinct(flows, seed: 1);
        _table = new FlowTable<FastPathEntry>(flows);
        _dictionary = new Dictionary<FlowKey, int>(flows);
        for (int i = 0; i < keys.Length; i++)
        {
            _table.TryAdd(keys[i], new FastPathEntry(i, default, default, default, 0), 0, out _);
            _dictionary.Add(keys[i], i);
        }
        // Queries are materialised keys (as a parser would produce them), read sequentially by both sides.
        var order = FlowKeys.RandomOrder(queries, flows, seed: 2);
        _queries = new FlowKey[queries];
        for (int i = 0; i < queries; i++)
            _queries[i] = keys[order[i]];
    }

    public int Flows => _table.Count;

    /// <summary>One batch of 32 lookups through the flow table.</summary>
    public void TableBatch()
    {
        if (_tablePos + Batch > _queries.Length)
            _tablePos = 0;
        int hits = _table.LookupBatch(_queries.AsSpan(_tablePos, Batch), _handles, _values);
        _tablePos += Batch;
        Checksum += hits + _values[0].ProgramId;
    }

    /// <summary>The same 32 lookups through the dictionary.</summary>
    public void DictionaryBatch()
    {
        if (_dictPos + Batch > _queries.Length)
            _dictPos = 0;
        var queries = _queries.AsSpan(_dictPos, Batch);
        var dictionary = _dictionary;
        long sum = 0;
        for (int i = 0; i < queries.Length; i++)
        {
            if (dictionary.TryGetValue(queries[i], out int v))
                sum += v + 1;
        }
        _dictPos += Batch;
        Checksum += sum;
    }

    public void Dispose() => _table.Dispose();
}
