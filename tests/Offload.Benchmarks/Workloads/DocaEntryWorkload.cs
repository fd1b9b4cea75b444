using System.Diagnostics;
using Offload.Doca;
using Offload.Doca.Flow;
using Offload.Packets;

namespace Offload.Benchmarks.Workloads;

/// <summary>
/// PERF.md P7's subject: the same add/remove loop as tests/native/perf/p7_entries.c, through the public binding
/// (<see cref="DocaPipe.TryAdd"/> / <see cref="DocaPipe.TryRemove"/> with batching, <see cref="DocaFlow.ProcessCompletions"/>)
/// into whichever libdoca_flow the binding loaded. One pipe (5-tuple + VNI), one queue of depth 1024, a push every
/// 32 submissions, completions drained whenever the queue pushes back.
/// </summary>
internal sealed class DocaEntryWorkload : IDisposable
{
    public const uint QueueDepth = 1024;
    public const int Batch = 32;

    private readonly CountingSink _sink = new();
    private readonly DocaFlow _flow;
    private readonly DocaPort _port;
    private readonly DocaPipe _pipe;
    private readonly DocaEntrySpec[] _specs;
    private readonly DocaEntry[] _entries;

    public DocaEntryWorkload(int entries)
    {
        _flow = DocaFlow.Initialize(new DocaFlowOptions { QueueDepth = QueueDepth }, _sink);
        _port = _flow.StartPort(0);
        _pipe = _port.CreatePipe(new DocaPipeSpec { Name = "p7", IsRoot = true, Entries = (uint)entries, MatchFields = DocaMatchFields.FiveTupleAndVni });
        _specs = new DocaEntrySpec[entries];
        _entries = new DocaEntry[entries];
        // The C program's keys: 10.0.x.y -> 10.0.0.2, source port 1024 + i / 65536, TCP 80, VNI 100, counted.
        for (int i = 0; i < entries; i++)
        {
            _specs[i] = new DocaEntrySpec(new DocaFlowTuple(NetAddress.FromV4(0x0A000000u | (uint)(i & 0xFFFF)), NetAddress.FromV4(0x0A000002u),
                (ushort)(1024 + (i >> 16)), 80, 6, 100), DocaFlowAction.ToPort(1));
        }
    }

    public int Entries => _specs.Length;

    /// <summary>Adds then removes every entry and waits for all completions; returns operations per second.</summary>
    public double Round()
    {
        int n = _specs.Length;
        _sink.Count = 0;
        long t0 = Stopwatch.GetTimestamp();
        for (int i = 0; i < n; i++)
        {
            DocaError rc;
            while ((rc = _pipe.TryAdd(0, _specs[i], 0, out _entries[i], batch: i % Batch != Batch - 1)) == DocaError.Again)
                _flow.ProcessCompletions(_port, 0);
            if (rc != DocaError.Success)
                throw new InvalidOperationException($"P7 add {i}: {rc}");
        }
        for (int i = 0; i < n; i++)
        {
            DocaError rc;
            while ((rc = DocaPipe.TryRemove(0, _entries[i], batch: i % Batch != Batch - 1)) == DocaError.Again)
                _flow.ProcessCompletions(_port, 0);
            if (rc != DocaError.Success)
                throw new InvalidOperationException($"P7 remove {i}: {rc}");
        }
        while (_sink.Count < 2L * n)
            _flow.ProcessCompletions(_port, 0);
        return 2.0 * n / Stopwatch.GetElapsedTime(t0).TotalSeconds;
    }

    public void Dispose()
    {
        _pipe.Dispose();
        _port.Dispose();
        _flow.Dispose();
    }

    private sealed class CountingSink : IDocaCompletionSink
    {
        public long Count;

        public void OnCompletion(in DocaCompletion completion) => Count++;
    }
}
