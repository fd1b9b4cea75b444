using System.Diagnostics;

namespace Offload.Benchmarks.Workloads;

/// <summary>Times chunks of work for a fixed wall time. Subject and baseline are run in alternating rounds and the
/// best round of each kept, so a noisy neighbour on the shared VM hurts both alike and a single stall hurts neither.</summary>
internal static class Timing
{
    /// <summary>Runs <paramref name="chunk"/> (which does <paramref name="opsPerChunk"/> operations) for about
    /// <paramref name="seconds"/> and returns operations per second.</summary>
    public static double Rate(Action chunk, long opsPerChunk, double seconds)
    {
        long ops = 0;
        var sw = Stopwatch.StartNew();
        long limit = (long)(seconds * Stopwatch.Frequency);
        do
        {
            chunk();
            ops += opsPerChunk;
        }
        while (sw.ElapsedTicks < limit);
        return ops / sw.Elapsed.TotalSeconds;
    }

    /// <summary>Alternates subject and baseline for <paramref name="rounds"/> rounds; returns the best rate of each.</summary>
    public static (double Subject, double Baseline) Compare(Action subject, Action baseline, long opsPerChunk, double secondsPerRound, int rounds)
    {
        var (s, b, _, _) = CompareWithCpuShare(subject, baseline, opsPerChunk, secondsPerRound, rounds);
        return (s, b);
    }

    /// <summary><see cref="Compare"/>, also returning the share of each best round's wall time that this thread
    /// was on a CPU (from /proc/thread-self/schedstat; NaN where unreadable). A share well below 1 means the round
    /// waited in the run queue behind other processes, so its rate measures the machine's load, not the code.</summary>
    public static (double Subject, double Baseline, double SubjectCpu, double BaselineCpu) CompareWithCpuShare(
        Action subject, Action baseline, long opsPerChunk, double secondsPerRound, int rounds)
    {
        double s = 0, b = 0, sCpu = double.NaN, bCpu = double.NaN;
        for (int r = 0; r < rounds; r++)
        {
            var (rate, cpu) = RateWithCpuShare(subject, opsPerChunk, secondsPerRound);
            if (rate > s)
                (s, sCpu) = (rate, cpu);
            (rate, cpu) = RateWithCpuShare(baseline, opsPerChunk, secondsPerRound);
            if (rate > b)
                (b, bCpu) = (rate, cpu);
        }
        return (s, b, sCpu, bCpu);
    }

    private static (double Rate, double CpuShare) RateWithCpuShare(Action chunk, long opsPerChunk, double seconds)
    {
        long cpuBefore = ThreadRunNanoseconds();
        long wallBefore = Stopwatch.GetTimestamp();
        double rate = Rate(chunk, opsPerChunk, seconds);
        double wallNs = Stopwatch.GetElapsedTime(wallBefore).TotalNanoseconds;
        long cpuAfter = ThreadRunNanoseconds();
        return (rate, cpuBefore < 0 || cpuAfter < 0 ? double.NaN : (cpuAfter - cpuBefore) / wallNs);
    }

    // First field of schedstat: nanoseconds this thread has run on a CPU. A managed thread stays on one OS thread.
    private static long ThreadRunNanoseconds()
    {
        try
        {
            string text = File.ReadAllText("/proc/thread-self/schedstat");
            int space = text.IndexOf(' ');
            return long.TryParse(space < 0 ? text : text[..space], out long ns) ? ns : -1;
        }
        catch (IOException)
        {
            return -1;
        }
        catch (UnauthorizedAccessException)
        {
            return -1;
        }
    }
}
