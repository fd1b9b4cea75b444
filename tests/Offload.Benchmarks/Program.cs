using BenchmarkDotNet.Running;
using Offload.Benchmarks.Quick;

namespace Offload.Benchmarks;

internal static class Program
{
    public static int Main(string[] args)
    {
        if (args.Contains("--quick"))
        {
            int only = Array.IndexOf(args, "--only");
            return QuickMode.Run(Console.Out, only >= 0 && only + 1 < args.Length ? args[only + 1].Split(',') : null);
        }
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
