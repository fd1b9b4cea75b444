#:project ../../../src/Offload.Doca/Offload.Doca.csproj
#:property AllowUnsafeBlocks=true
// PERF.md P7: the same add/remove loop as p7_entries.c, through the C# binding (DocaPipe.TryAdd /
// TryRemove with batching, DocaFlow.ProcessCompletions). Run: OFFLOAD_DOCA_NATIVE_DIR=<build>/gen-a dotnet run P7Binding.cs [entries] [rounds]
using System.Diagnostics;
using Offload.Doca;
using Offload.Doca.Flow;
using Offload.Packets;

int n = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 65536;
int rounds = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5;
const int Batch = 32;
var sink = new CountingSink();
using var flow = DocaFlow.Initialize(new DocaFlowOptions { QueueDepth = 1024 }, sink);
using var port = flow.StartPort(0);
using var pipe = port.CreatePipe(new DocaPipeSpec { Name = "p7", IsRoot = true, Entries = (uint)n, MatchFields = DocaMatchFields.FiveTupleAndVni });
var entries = new DocaEntry[n];
var specs = new DocaEntrySpec[n];
for (int i = 0; i < n; i++)
    specs[i] = new DocaEntrySpec(new DocaFlowTuple(NetAddress.FromV4(0x0A000000u | (uint)(i & 0xFFFF)), NetAddress.FromV4(0x0A000002u), (ushort)(1024 + (i >> 16)), 80, 6, 100), DocaFlowAction.ToPort(1));
double best = 0;
for (int r = 0; r < rounds; r++)
{
    sink.Count = 0;
    long t0 = Stopwatch.GetTimestamp();
    for (int i = 0; i < n; i++)
    {
        DocaError rc;
        while ((rc = pipe.TryAdd(0, specs[i], 0, out entries[i], batch: i % Batch != Batch - 1)) == DocaError.Again)
            flow.ProcessCompletions(port, 0);
        if (rc != DocaError.Success)
            throw new InvalidOperationException($"add {i}: {rc}");
    }
    for (int i = 0; i < n; i++)
    {
        DocaError rc;
        while ((rc = DocaPipe.TryRemove(0, entries[i], batch: i % Batch != Batch - 1)) == DocaError.Again)
            flow.ProcessCompletions(port, 0);
        if (rc != DocaError.Success)
            throw new InvalidOperationException($"remove {i}: {rc}");
    }
    while (sink.Count < 2L * n)
        flow.ProcessCompletions(port, 0);
    best = Math.Max(best, 2.0 * n / Stopwatch.GetElapsedTime(t0).TotalSeconds);
}
Console.WriteLine($"c# {n} entries: best {best:F0} ops/s (add+remove, {rounds} rounds, generation {DocaLibrary.Generation})");

sealed class CountingSink : IDocaCompletionSink
{
    public long Count;

    public void OnCompletion(in DocaCompletion completion) => Count++;
}
