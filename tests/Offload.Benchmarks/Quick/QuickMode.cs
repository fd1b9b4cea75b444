using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Offload.Backends.Software;
using Offload.Benchmarks.Workloads;
using Offload.Conntrack;
using Offload.Flows;

namespace Offload.Benchmarks.Quick;

/// <summary>
/// <c>--quick</c>: every id of PERF.md P1–P6 in well under a minute, raw figures printed as they come, and as the last
/// line one JSON object keyed by id. Subject and baseline always come from this same process.
/// </summary>
internal static class QuickMode
{
    private const int Flows = 1_000_000;
    private const int Rounds = 2;
    private const double Seconds = 0.3;
    // Below this share of a round's wall time on a CPU, the round's rate measures the machine's load (see P2).
    private const double MinCpuShare = 0.9;

    /// <param name="log">Where figures and the JSON line go.</param>
    /// <param name="only">Phase names to run (e.g. "P5", "P2"), or null for all; for iterating on one id.</param>
    public static int Run(TextWriter log, IReadOnlyCollection<string>? only = null)
    {
        var results = new List<QuickResult>();
        var total = Stopwatch.StartNew();
        log.WriteLine(Machine());

        Phase(log, only, "P6", () => RunP6(log, results));
        Phase(log, only, "P1", () => RunP1(log, results));
        Phase(log, only, "P3", () => RunP3(log, results));
        Phase(log, only, "P2/P4", () => RunP2AndP4(log, results));
        Phase(log, only, "P5", () => RunP5(log, results));
        Phase(log, only, "P7", () => P7Phase.Run(log, results));

        log.WriteLine($"# total {total.Elapsed.TotalSeconds:F1} s");
        log.WriteLine(QuickResult.ToJson(results));
        return 0;
    }

    private static void Phase(TextWriter log, IReadOnlyCollection<string>? only, string name, Action run)
    {
        if (only is not null && !only.Any(id => name.Split('/').Contains(id, StringComparer.OrdinalIgnoreCase)))
            return;
        var sw = Stopwatch.StartNew();
        run();
        GC.Collect();
        log.WriteLine($"# {name} phase {sw.Elapsed.TotalSeconds:F1} s");
    }

    public static string Machine()
    {
        string cpu = "?";
        try
        {
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
            {
                if (line.StartsWith("model name", StringComparison.Ordinal))
                {
                    cpu = line[(line.IndexOf(':') + 1)..].Trim();
                    break;
                }
            }
        }
        catch (IOException) { }
        string kernel = File.Exists("/proc/sys/kernel/osrelease") ? File.ReadAllText("/proc/sys/kernel/osrelease").Trim() : Environment.OSVersion.VersionString;
        return $"# machine: nproc {Environment.ProcessorCount}, cpu {cpu}, kernel {kernel}, .NET {Environment.Version}";
    }

    private static void RunP6(TextWriter log, List<QuickResult> results)
    {
        var w = new AclWorkload(10_000);
        w.TreeChunk();
        w.LinearChunk();
        var (tree, linear) = Timing.Compare(w.TreeChunk, w.LinearChunk, AclWorkload.Chunk, 0.3, Rounds);
        double ratio = tree / linear;
        log.WriteLine($"P6 acl 10k rules: tree {tree / 1e6:F3} M/s, linear (early exit) {linear / 1e6:F4} M/s, ratio {ratio:F1}x, tree build {w.BuildSeconds:F2} s; "
            + $"{w.Tree.TreeCount} trees, {w.Tree.NodeCount} nodes, {w.Tree.LeafRuleReferences} leaf entries for {w.Tree.ExpandedRuleCount} expanded rules, depth {w.Tree.Depth}, {w.Tree.MemoryBytes / 1024} KiB");
        results.Add(new("P6", tree / 1e6, linear / 1e6, "Mclassifications/s", ratio, 100.0, ratio >= 100,
            "baseline: LinearAclClassifier (rules sorted by precedence, stops at the first match); 10,000 realistic rules, 8,192 queries (half inside a rule, half random)"));
    }

    private static void RunP1(TextWriter log, List<QuickResult> results)
    {
        using var w = new LookupWorkload(Flows);
        var (table, dict) = Timing.Compare(w.TableBatch, w.DictionaryBatch, LookupWorkload.Batch, Seconds, Rounds);
        double ratio = table / dict;
        log.WriteLine($"P1 lookup 1M flows: FlowTable.LookupBatch(32) {table / 1e6:F2} M/s, Dictionary.TryGetValue {dict / 1e6:F2} M/s, ratio {ratio:F2}x");
        results.Add(new("P1", table / 1e6, dict / 1e6, "Mlookups/s", ratio, 3.0, ratio >= 3.0,
            "FlowTable<FastPathEntry> (the software backend's value), batches of 32, uniform random order over 1M keys; baseline Dictionary<FlowKey,int>, same keys and query sequence"));
    }

    private static void RunP3(TextWriter log, List<QuickResult> results)
    {
        const int connections = 100_000;
        DatapathWorkload.MeasureSetupRate(20_000); // warm up (JIT tiers) on a small run
        // Alternating rounds, best of each: later rounds run better-tiered code, so neither variant gets only the first.
        (double Rate, int Connections, int Flows) best = default;
        double presized = 0;
        for (int round = 0; round < 2; round++)
        {
            var run = DatapathWorkload.MeasureSetupRate(connections);
            if (run.Rate > best.Rate)
                best = run;
            presized = Math.Max(presized, DatapathWorkload.MeasureSetupRate(connections, presized: true).Rate);
        }
        log.WriteLine($"P3 datapath new UDP connections: {best.Rate / 1e3:F1} k/s ({best.Connections} connections, {best.Flows} flows installed; best of 2 rounds); "
            + $"with conntrack pre-sized (InitialCapacity = MaxEntries) {presized / 1e3:F1} k/s");
        var kernel = KernelConntrackProbe.Measure(connections);
        if (kernel.SkipReason is not null)
        {
            log.WriteLine($"P3 kernel baseline skipped: {kernel.SkipReason}");
            results.Add(new("P3", best.Rate / 1e3, 0, "kconn/s", 0, 4.0, null, "kernel baseline skipped: " + kernel.SkipReason));
            RunP3Kernel(log, results, 0);
            return;
        }
        double ratio = best.Rate / kernel.Rate;
        log.WriteLine($"P3 kernel nf_conntrack (netns, lo, nft ct state new counter): {kernel.Rate / 1e3:F1} k/s ({kernel.Counted} counted of {kernel.Sent} sent in {kernel.Seconds:F2} s), ratio {ratio:F2}x");
        results.Add(new("P3", best.Rate / 1e3, kernel.Rate / 1e3, "kconn/s", ratio, 4.0, ratio >= 4.0,
            $"subject: Datapath + DnatSlowPath, first-packet offload, both directions installed, Poll per batch of 32, default conntrack sizing (best of 2 runs; {presized / 1e3:F1} k/s with conntrack pre-sized); baseline: {kernel.Counted} unique UDP 5-tuples sent over lo in a private netns, nft 'ct state new' counter, one sending thread (stack included)"));
        RunP3Kernel(log, results, kernel.Rate);
    }

    // P3 with the kernel as the slow path: every first packet makes the round trip through the namespace, so this
    // measures the adapter's cost against the kernel alone; PERF.md sets no goal for it (informational).
    private static void RunP3Kernel(TextWriter log, List<QuickResult> results, double kernelRate)
    {
        KernelSlowPathSetupProbe.Measure(500, 1.0); // warm up: JIT, the namespace's first neighbour and route lookups
        var run = KernelSlowPathSetupProbe.Measure(20_000, 2.0);
        if (run.SkipReason is not null)
        {
            log.WriteLine($"P3-kernel skipped: {run.SkipReason}");
            results.Add(new("P3-kernel", 0, kernelRate / 1e3, "kconn/s", 0, "informational", null, "skipped: " + run.SkipReason));
            return;
        }
        double ratio = kernelRate > 0 ? run.Rate / kernelRate : 0;
        log.WriteLine($"P3-kernel datapath + KernelSlowPath new UDP connections: {run.Rate / 1e3:F2} k/s ({run.Connections} connections, {run.Flows} flows in {run.Seconds:F2} s), "
            + $"kernel alone {kernelRate / 1e3:F1} k/s, ratio {ratio:F3}x");
        results.Add(new("P3-kernel", run.Rate / 1e3, kernelRate / 1e3, "kconn/s", ratio, "informational", null,
            "subject: Datapath + KernelSlowPath over a private netns (two VMs, one network), first packet of each UDP connection injected into the kernel and its output read back, both directions installed, batches of 32 waited for; baseline: the P3 kernel nf_conntrack figure; no goal in PERF.md"));
    }

    private static unsafe void RunP2AndP4(TextWriter log, List<QuickResult> results)
    {
        using var w = new DatapathWorkload(Flows);
        double managed = w.ManagedBytesPerConnection, slots = w.ConntrackSlotBytesPerConnection, table = w.TableBytesPerConnection;
        double bytes = managed + slots + table;
        double slab = SlabObjectSize("nf_conntrack");
        log.WriteLine($"P4 memory per connection at 1M: managed {managed:F1} B + conntrack slots {slots:F1} B + flow table {table:F1} B = {bytes:F1} B; nf_conntrack slab objsize {slab} B (setup {w.SetupSeconds:F1} s)");
        if (slab > 0)
            results.Add(new("P4", bytes, slab, "bytes", bytes / slab, 0.4, bytes / slab <= 0.4,
                $"managed {managed:F1} B (conntrack index and wheel, datapath records) + conntrack slots {slots:F1} B (unmanaged, 192 B each) + software flow table {table:F1} B (2 flows, index, counters, free list); baseline /proc/slabinfo nf_conntrack objsize"));
        else
            results.Add(new("P4", bytes, 0, "bytes", 0, 0.4, null, "baseline skipped: /proc/slabinfo has no readable nf_conntrack line"));

        w.SubjectBatch();
        w.BaselineBatch();
        var (subject, baseline, subjectCpu, baselineCpu) = Timing.CompareWithCpuShare(w.SubjectBatch, w.BaselineBatch, DatapathWorkload.Batch, Seconds, Rounds);
        double ratio = subject / baseline;
        log.WriteLine($"P2 fast path 1M connections: Datapath {subject / 1e6:F3} Mpps, Dictionary pipeline {baseline / 1e6:F3} Mpps, ratio {ratio:F2}x (fast frames {w.Sink.Fast}, dropped {w.Sink.Dropped}; on-CPU share of the best rounds {subjectCpu:P0} / {baselineCpu:P0})");
        if (w.Sink.Dropped != 0)
            throw new InvalidOperationException("P2: frames were dropped; the measurement would not be of hits");
        // A best round that spent time in the run queue measured the neighbours, and the two pipelines rarely lose
        // the same share, so such a ratio is not reported as met or missed.
        bool loaded = subjectCpu < MinCpuShare || baselineCpu < MinCpuShare;
        if (loaded)
            log.WriteLine($"P2 NOT VALID: a best round ran on a CPU less than {MinCpuShare:P0} of its wall time (machine loaded: {File.ReadAllText("/proc/loadavg").Trim()})");
        results.Add(new("P2", subject / 1e6, baseline / 1e6, "Mpps", ratio, 2.5, loaded ? null : ratio >= 2.5,
            "64 B UDP, DNAT + MAC rewrite, random order over 1M connections (2M flows), batches of 32; subject also advances conntrack per packet (the baseline does not)"
            + $"; on-CPU share of the best rounds {subjectCpu:F2} / {baselineCpu:F2}" + (loaded ? " (loaded machine: not valid)" : "")));

        // Cold lines a fast-path packet touches: the index line, the record (key, value and hit counters, padded to
        // whole lines), and the conntrack entry's per-packet part that Update advances (the fields before
        // CreatedTicks; slots are line-aligned). The frame, the scratch arrays and the shared action program stay cached.
        int recordLines = (sizeof(FlowRecord<FastPathEntry>) + 63) / 64;
        int conntrackLines = ((int)Marshal.OffsetOf<ConntrackEntry>(nameof(ConntrackEntry.CreatedTicks)) + 63) / 64;
        int misses = 1 + recordLines + conntrackLines;
        using var probe = new MemoryParallelismProbe(1L << 30);
        probe.ReadBatch();
        double reads = 0;
        for (int r = 0; r < Rounds; r++)
            reads = Math.Max(reads, probe.Measure(0.3));
        double limit = reads / misses;
        double mlp = subject / limit;
        log.WriteLine($"P2-mlp probe: {reads / 1e6:F1} M independent random 8 B reads/s over {probe.Bytes >> 20} MiB; misses/packet estimate {misses} (index 1 + record {recordLines} + conntrack entry {conntrackLines}); limit {limit / 1e6:F3} Mpps; subject/limit {mlp:F3}");
        results.Add(new("P2-mlp", subject / 1e6, limit / 1e6, "Mpps", mlp, 0.5, mlp >= 0.5,
            $"limit = {reads / 1e6:F1} M random reads/s (1 GiB, batches of 32 independent loads) / {misses} misses per packet (index line 1 + flow record with its counters {recordLines} lines ({sizeof(FlowRecord<FastPathEntry>)} B) + conntrack entry {conntrackLines} of its {Unsafe.SizeOf<ConntrackEntry>() / 64} lines); with the flow table's lines alone (index+record, {1 + recordLines}) the ratio would be {subject / (reads / (1 + recordLines)):F3}"));
    }

    private static void RunP5(TextWriter log, List<QuickResult> results)
    {
        using var w = new RevalidationWorkload(500_000);
        log.WriteLine($"P5 setup: {w.Connections} connections, {w.Switch.Backend.Count} flows through VirtualSwitch in {w.SetupSeconds:F1} s");
        void Loop()
        {
            w.SurvivorBatch();
            w.Switch.Poll();
        }
        Loop();
        double before = Timing.Rate(Loop, RevalidationWorkload.Batch, Seconds);
        double noPoll = Timing.Rate(w.SurvivorBatch, RevalidationWorkload.Batch, Seconds);
        var pollTime = Stopwatch.StartNew();
        for (int i = 0; i < 1000; i++)
            w.Switch.Poll();
        log.WriteLine($"P5 profile: Process(32)+Poll {before / 1e6:F3} Mpps, Process(32) alone {noPoll / 1e6:F3} Mpps, idle Poll() {pollTime.Elapsed.TotalMicroseconds / 1000:F1} us per call");

        var sw = Stopwatch.StartNew();
        var sync = w.Switch.ApplyPolicy(RevalidationWorkload.PolicyDenying("1"));
        double applySeconds = sw.Elapsed.TotalSeconds;
        log.WriteLine($"P5 ApplyPolicy (deny 10%): {applySeconds:F3} s; checked {sync.Checked}, updated {sync.Updated}, removed {sync.Removed}, revalidation's own elapsed {sync.Elapsed.TotalSeconds:F3} s");
        results.Add(new("P5", applySeconds, 0, "s", applySeconds, 1.0, applySeconds <= 1.0 && sync.Checked >= w.Connections,
            $"VirtualSwitch.ApplyPolicy with one new deny rule hitting 10%: checked {sync.Checked}, updated {sync.Updated}, removed {sync.Removed} (no baseline: ratio = seconds)"));

        // Incremental: the next 10% denied, revalidated in Poll slices while packets of surviving connections flow.
        double beforeAgain = Timing.Rate(Loop, RevalidationWorkload.Batch, Seconds);
        before = Math.Max(before, beforeAgain);
        w.Switch.SlowPath.Apply(RevalidationWorkload.PolicyDenying("1,2"));
        long packets = 0;
        sw.Restart();
        var task = w.Switch.Datapath.StartRevalidation(w.Switch.SlowPath);
        double startSeconds = sw.Elapsed.TotalSeconds;
        while (!task.IsCompleted)
        {
            Loop();
            packets += RevalidationWorkload.Batch;
        }
        double window = sw.Elapsed.TotalSeconds;
        var inc = task.GetAwaiter().GetResult();
        double during = packets / window;
        double ratio = during / before;
        log.WriteLine($"P5 fast path before {before / 1e6:F3} Mpps, during incremental revalidation {during / 1e6:F3} Mpps ({packets} packets in {window:F3} s; StartRevalidation itself {startSeconds:F3} s; checked {inc.Checked}, removed {inc.Removed}), ratio {ratio:F3}");
        results.Add(new("P5-throughput", during / 1e6, before / 1e6, "Mpps", ratio, 0.8, ratio >= 0.8,
            $"embedder loop Process(32) + Poll() per batch, default RevalidationBudget (1 ms) and RevalidationShare (0.1); revalidation of {inc.Checked} connections took {window:F3} s with traffic (StartRevalidation call {startSeconds:F3} s)"));
    }

    private static double SlabObjectSize(string name)
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/slabinfo"))
            {
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length > 3 && parts[0] == name)
                    return double.Parse(parts[3], CultureInfo.InvariantCulture);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { }
        return 0;
    }
}
