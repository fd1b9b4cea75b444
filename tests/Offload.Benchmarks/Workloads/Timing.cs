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
        double s = 0, b = 0;
        for (int r = 0; r < rounds; r++)
        {
            s = Math.Max(s, Rate(subject, opsPerChunk, secondsPerRound));
            b = Math.Max(b, Rate(baseline, opsPerChunk, secondsPerRound));
        }
        return (s, b);
    }
}
