using BenchmarkDotNet.Attributes;
using Offload.Benchmarks.Workloads;

namespace Offload.Benchmarks.Benchmarks;

/// <summary>P6 for detailed runs: one operation = one classification.</summary>
[MemoryDiagnoser]
public class AclBenchmarks
{
    private AclWorkload? _acl;

    [GlobalSetup]
    public void Setup() => _acl = new AclWorkload(10_000);

    [Benchmark(OperationsPerInvoke = AclWorkload.Chunk)]
    public void P6_AclClassifier() => _acl!.TreeChunk();

    [Benchmark(OperationsPerInvoke = AclWorkload.Chunk)]
    public void P6_LinearAclClassifier() => _acl!.LinearChunk();
}
