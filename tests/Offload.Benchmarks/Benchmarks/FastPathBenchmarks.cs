using BenchmarkDotNet.Attributes;
using Offload.Benchmarks.Workloads;

namespace Offload.Benchmarks.Benchmarks;

/// <summary>P1 and P2 for detailed runs: the same workloads as quick mode, one operation = one batch of 32.</summary>
[MemoryDiagnoser]
public class FastPathBenchmarks
{
    private LookupWorkload? _lookup;
    private DatapathWorkload? _datapath;

    [GlobalSetup]
    public void Setup()
    {
        _lookup = new LookupWorkload(1_000_000);
        _datapath = new DatapathWorkload(1_000_000);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _lookup?.Dispose();
        _datapath?.Dispose();
    }

    [Benchmark(OperationsPerInvoke = LookupWorkload.Batch)]
    public void P1_FlowTable_LookupBatch32() => _lookup!.TableBatch();

    [Benchmark(OperationsPerInvoke = LookupWorkload.Batch)]
    public void P1_Dictionary_TryGetValue() => _lookup!.DictionaryBatch();

    [Benchmark(OperationsPerInvoke = DatapathWorkload.Batch)]
    public void P2_Datapath_Process32() => _datapath!.SubjectBatch();

    [Benchmark(OperationsPerInvoke = DatapathWorkload.Batch)]
    public void P2_DictionaryPipeline() => _datapath!.BaselineBatch();
}
