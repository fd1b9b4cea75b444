using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Offload.Conntrack;

namespace Offload.Tests.Conntrack;

public unsafe class ConntrackEntryStoreTests
{
    [Fact]
    public void Layout_PerPacketFieldsFillTheFirstLine()
    {
        Unsafe.SizeOf<ConntrackEntry>().Should().Be(192);
        // Everything Update reads or writes precedes CreatedTicks; the tuples and links come after the first line.
        Marshal.OffsetOf<ConntrackEntry>(nameof(ConntrackEntry.CreatedTicks)).ToInt32().Should().Be(64);
        foreach (string hot in new[] { nameof(ConntrackEntry.DeadlineTicks), nameof(ConntrackEntry.LastSeenTicks), nameof(ConntrackEntry.ReplyBytes),
                     nameof(ConntrackEntry.Generation), nameof(ConntrackEntry.BucketSecond), nameof(ConntrackEntry.State),
                     nameof(ConntrackEntry.Flags), nameof(ConntrackEntry.LastIndex), nameof(ConntrackEntry.Protocol) })
            Marshal.OffsetOf<ConntrackEntry>(hot).ToInt32().Should().BeLessThan(64, hot);
    }

    [Theory]
    [InlineData(1, 1000)]
    [InlineData(1000, 100_000)]
    [InlineData(1 << 16, 1 << 18)]
    public void Grow_AcrossSegments_KeepsEverySlotAndItsAddress(int initial, int max)
    {
        var store = new ConntrackEntryStore(initial, max);
        var addresses = new List<nint>();
        int written = 0;
        while (true)
        {
            for (; written < store.Capacity; written++)
            {
                ref var e = ref store[written];
                e.Generation.Should().Be(0, "fresh slots read as free");
                e.Generation = (uint)written + 1;
                e.ReplyBytes = written * 3L;
                nint address = (nint)Unsafe.AsPointer(ref e);
                (address % 64).Should().Be(0, "slots are cache-line aligned");
                addresses.Add(address);
            }
            if (!store.Grow())
                break;
        }

        store.Capacity.Should().Be(max);
        store.AllocatedBytes.Should().Be((long)max * 192);
        for (int slot = 0; slot < max; slot++)
        {
            ref var e = ref store[slot];
            ((nint)Unsafe.AsPointer(ref e)).Should().Be(addresses[slot], "growth never moves a slot");
            if (e.Generation != (uint)slot + 1 || e.ReplyBytes != slot * 3L)
                throw new InvalidOperationException($"slot {slot} lost its contents");
        }
        GC.KeepAlive(store);
    }

    [Fact]
    public void Constructor_InitialAboveMax_CapsAtMax()
    {
        var store = new ConntrackEntryStore(1024, 100);
        store.Capacity.Should().Be(100);
        store.Grow().Should().BeFalse();
        GC.KeepAlive(store);
    }

    [Fact]
    public void Constructor_InitialNotAPowerOfTwo_RoundsUpAndDoubles()
    {
        var store = new ConntrackEntryStore(1000, 10_000);
        store.Capacity.Should().Be(1024);
        store.Grow().Should().BeTrue();
        store.Capacity.Should().Be(2048);
        GC.KeepAlive(store);
    }
}
