using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Offload.Benchmarks.Workloads;

/// <summary>
/// P2-mlp: how many independent random 8-byte reads per second this core sustains from a buffer far larger than the
/// last-level cache — batches of 32 loads whose addresses do not depend on each other, so the core can keep as many
/// misses in flight as it has miss buffers. Divided by the cold cache lines a packet touches, it is the packet rate
/// no design with that many misses per packet can beat on this machine.
/// </summary>
internal sealed unsafe class MemoryParallelismProbe : IDisposable
{
    private const int Batch = 32;
    private readonly ulong* _buffer;
    private readonly ulong _mask;
    private ulong _state = 0x9E37_79B9_7F4A_7C15UL;

    public long Checksum;

    public MemoryParallelismProbe(long bytes)
    {
        long words = (long)System.Numerics.BitOperations.RoundUpToPowerOf2((ulong)bytes) / 8;
        _buffer = (ulong*)NativeMemory.AlignedAlloc((nuint)(words * 8), 4096);
        // Touch every page: the probe must measure memory, not page faults on first use.
        for (long i = 0; i < words; i += 512)
            _buffer[i] = (ulong)i;
        _mask = (ulong)words - 1;
        Bytes = words * 8;
    }

    public long Bytes { get; }

    /// <summary>One batch of 32 independent random reads.</summary>
    public void ReadBatch()
    {
        ulong s = _state;
        ulong* b = _buffer;
        ulong m = _mask;
        ulong sum = 0;
        for (int i = 0; i < Batch; i++)
        {
            // xorshift64: the next address depends on the generator only, never on a loaded value.
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            sum += b[s & m];
        }
        _state = s;
        Checksum += (long)sum;
    }

    public static int ReadsPerBatch => Batch;

    public double Measure(double seconds) => Timing.Rate(ReadBatch, Batch, seconds);

    public void Dispose() => NativeMemory.AlignedFree(_buffer);
}
