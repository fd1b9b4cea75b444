using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Offload.Classification;

/// <summary>
/// A fixed array of unmanaged structs whose first element starts on a 64-byte cache-line boundary, so a
/// 64-byte element never straddles two lines (a managed array only guarantees 8-byte alignment). The
/// storage is allocated on the pinned object heap: the GC never moves it, so the alignment holds.
/// </summary>
internal readonly struct CacheAlignedArray<T>
    where T : unmanaged
{
    private const int LineSize = 64;

    private readonly byte[] _bytes;
    private readonly int _offset;

    /// <summary>Copies <paramref name="items"/> into aligned storage.</summary>
    public CacheAlignedArray(ReadOnlySpan<T> items)
    {
        Length = items.Length;
        _bytes = GC.AllocateArray<byte>((items.Length * Unsafe.SizeOf<T>()) + LineSize, pinned: true);
        // Pinned storage: its address is stable, so reading it once is sound.
        nint address;
        unsafe
        {
            address = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_bytes));
        }
        _offset = (int)((LineSize - (address & (LineSize - 1))) & (LineSize - 1));
        items.CopyTo(MemoryMarshal.Cast<byte, T>(_bytes.AsSpan(_offset, items.Length * Unsafe.SizeOf<T>())));
    }

    /// <summary>Number of elements.</summary>
    public int Length { get; }

    /// <summary>Bytes held, padding included.</summary>
    public long MemoryBytes => _bytes.Length;

    /// <summary>The first element; callers index from it within <see cref="Length"/>.</summary>
    public ref T First
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => ref Unsafe.As<byte, T>(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_bytes), _offset));
    }
}
