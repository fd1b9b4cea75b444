using System.Runtime.InteropServices;

namespace Offload.Flows;

/// <summary>
/// Allocates the flow table's large unmanaged arrays. A lookup at 1M flows lands on a random 4 KiB page of a
/// 100+ MiB array, so with small pages nearly every record access is also a TLB miss and a page walk that itself
/// misses the cache. Arrays of at least one huge page are therefore aligned to 2 MiB and, on Linux, advised to be
/// backed by transparent huge pages (honoured where THP is "always" or "madvise"; elsewhere the advice is a no-op
/// and the table works the same on small pages).
/// </summary>
internal static unsafe class TableMemory
{
    private const nuint HugePage = 2 * 1024 * 1024;
    private const nuint SmallPage = 4096;
    private const nuint LineSize = 64;

    /// <summary>Allocates <paramref name="bytes"/> bytes aligned to a cache line (to a huge page when that large);
    /// release with <see cref="Free"/>.</summary>
    public static void* Allocate(nuint bytes)
    {
        if (bytes < HugePage)
            return NativeMemory.AlignedAlloc(bytes, LineSize);
        void* memory = NativeMemory.AlignedAlloc(bytes, HugePage);
        if (OperatingSystem.IsLinux())
        {
            // Advisory only: a kernel without THP refuses it and the memory stays on small pages. The length is rounded
            // to whole small pages, which the allocation's own mapping covers.
            _ = Interop.Libc.Madvise(memory, (bytes + SmallPage - 1) & ~(SmallPage - 1), Interop.Libc.MadvHugePage);
        }
        return memory;
    }

    /// <summary>Frees memory from <see cref="Allocate"/>.</summary>
    public static void Free(void* memory) => NativeMemory.AlignedFree(memory);
}
