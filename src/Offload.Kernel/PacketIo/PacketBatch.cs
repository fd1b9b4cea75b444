using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Offload.Packets;

namespace Offload.Kernel.PacketIo;

/// <summary>
/// A reusable set of frame slots in one pinned buffer, filled and drained by batched packet I/O
/// (<see cref="PacketSocket"/>, <see cref="Devices.TapDevice"/>). Every slot has <see cref="Headroom"/> free bytes before
/// the frame, so a frame read here can be encapsulated in place and sent on (<see cref="this[int]"/> is a
/// <see cref="PacketBuffer"/> over the slot). Allocated once; no per-frame allocation. Not thread-safe.
/// </summary>
public sealed unsafe class PacketBatch
{
    private readonly byte[] _slab;
    private readonly int[] _lengths;
    private readonly int _stride;
    // The kernel reads and writes these during recvmmsg/sendmmsg; pinned for life so their addresses stay valid.
    private readonly Interop.Sys.MMsgHdr[] _headers;
    private readonly Interop.Sys.IoVec[] _vectors;
    // Per slot: room for one cmsghdr carrying struct tpacket_auxdata (16 + 20 bytes, aligned to 8).
    internal const int ControlSize = 40;
    private readonly byte[] _control;
    private int _count;

    /// <summary>Creates a batch of <paramref name="capacity"/> slots, each holding a frame of up to <paramref name="frameSize"/> bytes.</summary>
    /// <param name="capacity">Slots (frames per batch).</param>
    /// <param name="frameSize">The largest frame a slot takes (MTU + 14 for untagged Ethernet; 18 with one VLAN tag).</param>
    /// <param name="headroom">Free bytes before each frame.</param>
    public PacketBatch(int capacity = 64, int frameSize = 2048, int headroom = PacketBuffer.DefaultHeadroom)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(frameSize, 64);
        ArgumentOutOfRangeException.ThrowIfNegative(headroom);
        Capacity = capacity;
        FrameSize = frameSize;
        Headroom = headroom;
        // Slots start on cache lines so one frame's tail never shares a line with the next frame's headroom.
        _stride = (headroom + frameSize + 63) & ~63;
        _slab = GC.AllocateUninitializedArray<byte>(checked(_stride * capacity + 64), pinned: true);
        _lengths = new int[capacity];
        _headers = GC.AllocateArray<Interop.Sys.MMsgHdr>(capacity, pinned: true);
        _vectors = GC.AllocateArray<Interop.Sys.IoVec>(capacity, pinned: true);
        _control = GC.AllocateArray<byte>(capacity * ControlSize, pinned: true);
        for (int i = 0; i < capacity; i++)
        {
            _vectors[i].Base = SlotPointer(i);
            _headers[i].Header.IoVectors = (Interop.Sys.IoVec*)Unsafe.AsPointer(ref _vectors[i]);
            _headers[i].Header.IoVectorCount = 1;
        }
    }

    /// <summary>How many slots the batch has.</summary>
    public int Capacity { get; }

    /// <summary>The largest frame a slot holds.</summary>
    public int FrameSize { get; }

    /// <summary>Free bytes before each frame.</summary>
    public int Headroom { get; }

    /// <summary>How many slots, from 0, hold frames.</summary>
    public int Count
    {
        get => _count;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, Capacity);
            _count = value;
        }
    }

    /// <summary>The frame in slot <paramref name="index"/> as a <see cref="PacketBuffer"/> (its headroom is the slot's).</summary>
    public PacketBuffer this[int index] => new(_slab, SlotOffset(index), _lengths[index]);

    /// <summary>The bytes of the frame in slot <paramref name="index"/>.</summary>
    public Span<byte> Frame(int index) => _slab.AsSpan(SlotOffset(index), _lengths[index]);

    /// <summary>The whole frame space of a slot (<see cref="FrameSize"/> bytes), to build a frame in before <see cref="SetLength"/>.</summary>
    public Span<byte> SlotSpace(int index) => _slab.AsSpan(SlotOffset(index), FrameSize);

    /// <summary>Sets the length of the frame in a slot.</summary>
    public void SetLength(int index, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, FrameSize);
        _lengths[index] = length;
    }

    /// <summary>Copies a frame into the next free slot; false when the batch is full or the frame too long.</summary>
    public bool TryAdd(ReadOnlySpan<byte> frame)
    {
        if (_count == Capacity || frame.Length > FrameSize)
            return false;
        frame.CopyTo(_slab.AsSpan(SlotOffset(_count)));
        _lengths[_count++] = frame.Length;
        return true;
    }

    /// <summary>Empties the batch (the slots are reused).</summary>
    public void Clear() => _count = 0;

    internal Interop.Sys.MMsgHdr* Headers(int first) => (Interop.Sys.MMsgHdr*)Unsafe.AsPointer(ref _headers[first]);

    internal ref Interop.Sys.MMsgHdr Header(int index) => ref _headers[index];

    internal ReadOnlySpan<byte> Control(int index, int length) => _control.AsSpan(index * ControlSize, Math.Min(length, ControlSize));

    internal void PrepareReceive(int first, bool withControl)
    {
        for (int i = first; i < Capacity; i++)
        {
            _headers[i].Header.Control = withControl ? Unsafe.AsPointer(ref _control[i * ControlSize]) : null;
            _headers[i].Header.ControlLength = withControl ? (nuint)ControlSize : 0;
            _vectors[i].Length = (nuint)FrameSize;
            _headers[i].Header.Flags = 0;
            _headers[i].Length = 0;
        }
    }

    internal void PrepareSend(int first, int end)
    {
        for (int i = first; i < end; i++)
        {
            _headers[i].Header.Control = null;
            _headers[i].Header.ControlLength = 0;
            _vectors[i].Length = (nuint)_lengths[i];
            _headers[i].Length = 0;
        }
    }

    // Puts back the 802.1Q/802.1ad tag the kernel moved into metadata: the frame after the MAC addresses shifts 4 bytes.
    internal bool TryInsertVlanTag(int index, int length, ushort tpid, ushort tci)
    {
        if (length < 12 || length + 4 > FrameSize)
            return false;
        Span<byte> frame = _slab.AsSpan(SlotOffset(index), length + 4);
        frame[12..length].CopyTo(frame[16..]);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(frame[12..], tpid);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(frame[14..], tci);
        _lengths[index] = length + 4;
        return true;
    }

    // Moves a frame to an earlier slot (closing the gap a truncated frame left).
    internal void MoveFrame(int from, int to, int length)
    {
        _slab.AsSpan(SlotOffset(from), length).CopyTo(_slab.AsSpan(SlotOffset(to)));
        _lengths[to] = length;
    }

    private int SlotOffset(int index)
    {
        if ((uint)index >= (uint)Capacity)
            ThrowIndex(index);
        return SlotBase() + index * _stride + Headroom;
    }

    // The pinned slab starts wherever the GC put it; the first slot starts at the next 64-byte boundary.
    private int SlotBase() => (int)((64 - ((nuint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_slab)) & 63)) & 63);

    private byte* SlotPointer(int index) =>
        (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_slab)) + SlotOffset(index);

    private void ThrowIndex(int index) =>
        throw new ArgumentOutOfRangeException(nameof(index), index, $"A slot index is 0..{Capacity - 1}.");
}
