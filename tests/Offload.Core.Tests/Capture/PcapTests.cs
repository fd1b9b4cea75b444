using System.Buffers.Binary;
using Offload.Capture;

namespace Offload.Tests.Capture;

public class PcapTests
{
    private static readonly DateTimeOffset T0 = new(2024, 5, 6, 7, 8, 9, TimeSpan.Zero);

    private static byte[] Frame(int length, byte fill) => Enumerable.Repeat(fill, length).ToArray();

    private static byte[] WriteSample(int snapLength = PcapFormat.MaxRecordLength)
    {
        var ms = new MemoryStream();
        using (var writer = new PcapWriter(ms, snapLength, leaveOpen: true))
        {
            writer.Write(T0.AddTicks(1234560), Frame(60, 1));
            writer.Write(T0.AddSeconds(1), Frame(1514, 2));
            writer.Write(1_700_000_000, 999_999, Frame(0, 3));
            writer.RecordsWritten.Should().Be(3);
        }
        return ms.ToArray();
    }

    [Fact]
    public void WriterThenReader_RoundTrip_PreservesFramesAndTimestamps()
    {
        using var reader = new PcapReader(new MemoryStream(WriteSample()));
        (reader.LinkType, reader.SnapLength, reader.IsNanosecondResolution, reader.IsBigEndian).Should()
            .Be((PcapFormat.LinkTypeEthernet, (uint)PcapFormat.MaxRecordLength, false, false));
        (reader.VersionMajor, reader.VersionMinor).Should().Be(((ushort)2, (ushort)4));

        var records = reader.ReadAll().ToList();
        records.Should().HaveCount(3);
        records[0].Data.Should().Equal(Frame(60, 1));
        records[0].Header.Timestamp.Should().Be(T0.AddTicks(1234560));
        records[0].Header.Nanoseconds.Should().Be(123_456_000);
        records[1].Data.Should().Equal(Frame(1514, 2));
        records[1].Header.OriginalLength.Should().Be(1514);
        records[2].Data.Should().BeEmpty();
        (records[2].Header.Seconds, records[2].Header.Nanoseconds).Should().Be((1_700_000_000L, 999_999_000L));
        reader.RecordsRead.Should().Be(3);
    }

    [Fact]
    public void Writer_FrameLongerThanSnapLength_TruncatedWithOriginalLength()
    {
        using var reader = new PcapReader(new MemoryStream(WriteSample(snapLength: 100)));
        var big = reader.ReadAll().ElementAt(1);
        big.Data.Should().Equal(Frame(100, 2));
        (big.Header.CapturedLength, big.Header.OriginalLength).Should().Be((100, 1514));
    }

    [Fact]
    public void Reader_CallerBuffer_ReceivesFrame()
    {
        using var reader = new PcapReader(new MemoryStream(WriteSample()));
        var buffer = new byte[PcapFormat.MaxRecordLength];
        reader.TryReadNext(buffer, out var h).Should().BeTrue();
        buffer.AsSpan(0, h.CapturedLength).ToArray().Should().Equal(Frame(60, 1));
        var tooSmall = () => reader.TryReadNext(new byte[10], out _);
        tooSmall.Should().Throw<ArgumentException>().WithMessage("*1514*");
    }

    [Fact]
    public void Reader_BigEndianNanosecondFile_Decoded()
    {
        var file = new byte[24 + 16 + 4];
        var s = file.AsSpan();
        BinaryPrimitives.WriteUInt32BigEndian(s, PcapFormat.NanosecondMagic);
        BinaryPrimitives.WriteUInt16BigEndian(s.Slice(4), 2);
        BinaryPrimitives.WriteUInt16BigEndian(s.Slice(6), 4);
        BinaryPrimitives.WriteUInt32BigEndian(s.Slice(16), 96);
        BinaryPrimitives.WriteUInt32BigEndian(s.Slice(20), 0x1000_0001); // FCS bits above the link type
        BinaryPrimitives.WriteUInt32BigEndian(s.Slice(24), 10);
        BinaryPrimitives.WriteUInt32BigEndian(s.Slice(28), 123_456_789);
        BinaryPrimitives.WriteUInt32BigEndian(s.Slice(32), 4);
        BinaryPrimitives.WriteUInt32BigEndian(s.Slice(36), 60);
        file[40] = 0xAB;

        using var reader = new PcapReader(new MemoryStream(file));
        (reader.IsBigEndian, reader.IsNanosecondResolution, reader.SnapLength, reader.LinkType, reader.LinkTypeField).Should()
            .Be((true, true, 96u, 1u, 0x1000_0001u));
        var r = reader.ReadNext()!;
        (r.Header.Seconds, r.Header.Nanoseconds, r.Header.CapturedLength, r.Header.OriginalLength).Should().Be((10L, 123_456_789L, 4, 60));
        r.Data.Should().Equal(0xAB, 0, 0, 0);
        reader.ReadNext().Should().BeNull();
    }

    [Fact]
    public void Reader_TruncatedRecordData_InvalidDataExceptionWithOffset()
    {
        var file = WriteSample();
        using var reader = new PcapReader(new MemoryStream(file[..^1]));
        reader.ReadNext().Should().NotBeNull();
        reader.ReadNext().Should().NotBeNull();
        var act = () => reader.ReadNext();
        act.Should().Throw<InvalidDataException>().WithMessage("*record 3*truncated*offset*");
    }

    [Fact]
    public void Reader_TruncatedRecordHeader_InvalidDataException()
    {
        var file = WriteSample();
        using var reader = new PcapReader(new MemoryStream(file[..(24 + 16 + 60 + 5)]));
        reader.ReadNext().Should().NotBeNull();
        var act = () => reader.ReadNext();
        act.Should().Throw<InvalidDataException>().WithMessage("*header truncated*offset 100*");
    }

    [Theory]
    [InlineData(100, 101)]
    [InlineData(0, PcapFormat.MaxRecordLength + 1)]
    [InlineData(PcapFormat.MaxRecordLength, -1)]
    public void Reader_RecordLongerThanAllowed_InvalidDataException(int snapLength, int capturedLength)
    {
        var file = WriteSample();
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(16), (uint)snapLength);
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(24 + 8), capturedLength);
        using var reader = new PcapReader(new MemoryStream(file));
        var act = () => reader.ReadNext();
        act.Should().Throw<InvalidDataException>().WithMessage("*offset 24*captured length*exceeds*");
    }

    [Fact]
    public void Reader_NotPcap_InvalidDataException()
    {
        var act = () => new PcapReader(new MemoryStream(new byte[] { 0x0A, 0x0D, 0x0D, 0x0A, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }));
        act.Should().Throw<InvalidDataException>().WithMessage("*magic*");
        var shortHeader = () => new PcapReader(new MemoryStream(new byte[10]));
        shortHeader.Should().Throw<InvalidDataException>().WithMessage("*truncated*");
    }

    [Fact]
    public void WriterFile_ReadBackByTshark_SameFrames()
    {
        if (!TsharkRunner.IsAvailable)
            throw new InvalidOperationException(TsharkRunner.MissingMessage);
        string path = Path.Combine(Path.GetTempPath(), $"offload-pcap-{Guid.NewGuid():N}.pcap");
        try
        {
            using (var writer = PcapWriter.Create(path))
            {
                writer.Write(T0, Frame(60, 0xFF));
                writer.Write(T0.AddMilliseconds(5), Frame(42, 0x01));
            }
            var lines = TsharkRunner.Run(path, "-T", "fields", "-e", "frame.number", "-e", "frame.len", "-e", "frame.time_epoch");
            lines.Should().HaveCount(2);
            lines[0].Split('\t')[1].Should().Be("60");
            lines[1].Split('\t')[1].Should().Be("42");
            decimal.Parse(lines[1].Split('\t')[2], System.Globalization.CultureInfo.InvariantCulture).Should()
                .Be(T0.AddMilliseconds(5).ToUnixTimeMilliseconds() / 1000m);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
