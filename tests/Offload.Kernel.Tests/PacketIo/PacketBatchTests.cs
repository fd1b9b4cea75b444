using Offload.Kernel.PacketIo;
using Offload.Packets;

namespace Offload.Kernel.Tests.PacketIo;

public sealed class PacketBatchTests
{
    [Fact]
    public void TryAdd_UntilFull_FramesReadBackAsPacketBuffersWithHeadroom()
    {
        var batch = new PacketBatch(capacity: 3, frameSize: 100, headroom: 40);

        batch.TryAdd([1, 2, 3]).Should().BeTrue();
        batch.TryAdd(new byte[100]).Should().BeTrue();
        batch.TryAdd([9]).Should().BeTrue();
        batch.TryAdd([7]).Should().BeFalse("the batch is full");

        batch.Count.Should().Be(3);
        PacketBuffer first = batch[0];
        first.Span.ToArray().Should().Equal(1, 2, 3);
        first.Headroom.Should().BeGreaterThanOrEqualTo(40);
        batch[2].Span.ToArray().Should().Equal(9);
        batch[1].Offset.Should().BeGreaterThanOrEqualTo(first.Offset + 100 + 40, "slots never overlap");
    }

    [Fact]
    public void TryAdd_FrameLongerThanSlot_Refused()
    {
        var batch = new PacketBatch(capacity: 2, frameSize: 64);
        batch.TryAdd(new byte[65]).Should().BeFalse();
        batch.Count.Should().Be(0);
    }

    [Fact]
    public void SlotSpaceAndSetLength_BuildInPlace_FrameSeesBytes()
    {
        var batch = new PacketBatch(capacity: 2, frameSize: 64);
        batch.SlotSpace(1).Length.Should().Be(64);
        batch.SlotSpace(1)[0] = 0xAB;
        batch.SetLength(1, 1);
        batch.Count = 2;

        batch.Frame(1).ToArray().Should().Equal(0xAB);
        Action tooLong = () => batch.SetLength(0, 65);
        tooLong.Should().Throw<ArgumentOutOfRangeException>();
        Action outside = () => batch.Frame(2);
        outside.Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void Clear_AfterFill_CountZeroAndSlotsReusable()
    {
        var batch = new PacketBatch(capacity: 1, frameSize: 64);
        batch.TryAdd([1]);
        batch.Clear();
        batch.TryAdd([2]).Should().BeTrue();
        batch.Frame(0).ToArray().Should().Equal(2);
    }
}
