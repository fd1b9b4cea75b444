using System.Numerics;
using System.Runtime.CompilerServices;

namespace Offload.Flows;

/// <summary>
/// Tells the flow table's writer when no reader can still be using an index array it has replaced, so the old
/// array can be freed: readers count themselves in and out around each lookup (or batch); after publishing a new
/// index the writer waits until every reader that might have loaded the old pointer has left.
/// </summary>
/// <remarks>
/// Two sets of counters alternate (as in sleepable RCU): the writer switches new readers to the other set before
/// it waits, so a steady stream of new readers cannot keep it waiting for ever; it only waits for readers already
/// inside. Each set is striped by processor, each stripe on its own 128 bytes, so readers on different cores do not
/// contend on one cache line. A reader increments and decrements the same stripe, so every stripe stays ≥ 0 and
/// "each stripe seen at 0" is a sound test even though the stripes are read one at a time.
/// A reader stays counted only if the side is unchanged after its increment (a full fence); the writer switches the
/// side, fences, then reads the counters — so the first switch after a reader's re-check is guaranteed to see that
/// reader (store-buffer/Dekker argument) and waits for it. Every index the reader can load is freed only after such a
/// switch, because switches are serialised and each waits before the next begins.
/// </remarks>
internal sealed class IndexReaderGate
{
    private const int Pad = 16; // longs: 128 bytes between counters (adjacent-line prefetch pairs lines)

    private readonly long[] _counts;
    private readonly int _stripes;
    private int _side;

    public IndexReaderGate()
    {
        _stripes = (int)Math.Min(64u, BitOperations.RoundUpToPowerOf2((uint)Math.Max(2, Environment.ProcessorCount)));
        _counts = new long[((2 * _stripes) + 1) * Pad];
    }

    /// <summary>Counts the calling reader in; pass the returned reference to <see cref="Exit"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref long Enter()
    {
        int stripe = Thread.GetCurrentProcessorId() & (_stripes - 1);
        while (true)
        {
            int side = Volatile.Read(ref _side);
            // +1 pad: keep the first counter off the line holding the array's length.
            ref long counter = ref _counts[((side * _stripes) + stripe + 1) * Pad];
            Interlocked.Increment(ref counter);
            // Without this re-check a reader that read the side just before a switch could count itself on the
            // side the writer has already drained, load the next index, and have that freed by the following
            // rebuild, which waits on the other side only.
            if (Volatile.Read(ref _side) == side)
                return ref counter;
            Interlocked.Decrement(ref counter);
        }
    }

    /// <summary>Counts a reader out.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Exit(ref long counter) => Interlocked.Decrement(ref counter);

    /// <summary>
    /// Writer side, after it has published a new index pointer: returns once every reader that could have loaded
    /// the previous pointer has left. Callers must be serialised (the table's write lock).
    /// </summary>
    public void WaitForReadersOfPreviousIndex()
    {
        int old = _side;
        Volatile.Write(ref _side, old ^ 1);
        Interlocked.MemoryBarrier();
        for (int stripe = 0; stripe < _stripes; stripe++)
        {
            ref long counter = ref _counts[((old * _stripes) + stripe + 1) * Pad];
            var spin = new SpinWait();
            while (Volatile.Read(ref counter) != 0)
                spin.SpinOnce();
        }
    }
}
