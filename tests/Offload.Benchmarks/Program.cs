using BenchmarkDotNet.Running;
using Offload.Benchmarks.Quick;

namespace Offload.Benchmarks;

internal static class Program
{
    public static int Main(string[] args)
    {
        if (args.Contains("--quick"))
            return QuickMode.Run(Console.Out);
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
