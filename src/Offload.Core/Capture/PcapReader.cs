using System.Buffers.Binary;

namespace Offload.Capture;

/// <summary>
/// Reads a classic pcap file (either byte order, microsecond or nanosecond timestamps) record by record.
/// A damaged file — truncated header or record, a record longer than the snapshot length or than
/// <see cref="PcapFormat.MaxRecordLength"/> — raises <see cref="InvalidDataException"/> naming the byte
/// offset, never anything worse; records before the damage are returned normally.
/// </summary>
public sealed class PcapReader : IDisposable
{
    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private readonly bool _swapped;
    private readonly int _maxRecordLength;
    private readonly byte[] _header = new byte[PcapFormat.RecordHeaderLength];
    private byte[] _buffer = new byte[2048];
    private long _position;

    /// <summary>Reads the file header from <paramref name="stream"/>.</summary>
    /// <param name="stream">A readable stream positioned at the start of the file.</param>
    /// <param name="leaveOpen">True to leave <paramref name="stream"/> open on <see cref="Dispose"/>.</param>
    /// <exception cref="InvalidDataException">The file header is short or its magic is not classic pcap.</exception>
    public PcapReader(Stream stream, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _stream = stream;
        _leaveOpen = leaveOpen;

        Span<byte> header = stackalloc byte[PcapFormat.FileHeaderLength];
        int read = _stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
        if (read < header.Length)
            throw new InvalidDataException($"pcap file header truncated: {read} of {PcapFormat.FileHeaderLength} bytes at offset 0.");
        _position = read;

        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(header);
        if (magic is PcapFormat.MicrosecondMagic or PcapFormat.NanosecondMagic)
            _swapped = false;
        else if (BinaryPrimitives.ReverseEndianness(magic) is PcapFormat.MicrosecondMagic or PcapFormat.NanosecondMagic)
        {
            _swapped = true;
            magic = BinaryPrimitives.ReverseEndianness(magic);
        }
        else
            throw new InvalidDataException($"not a classic pcap file: magic 0x{magic:x8} at offset 0 (pcapng is not supported).");

        IsBigEndian = BitConverter.IsLittleEndian == _swapped;
        IsNanosecondResolution = magic == PcapFormat.NanosecondMagic;
        VersionMajor = ReadU16(header.Slice(4));
        VersionMinor = ReadU16(header.Slice(6));
        SnapLength = ReadU32(header.Slice(16));
        LinkTypeField = ReadU32(header.Slice(20));
        // A snapshot length of 0 says nothing; libpcap then falls back to its own ceiling as we do.
        _maxRecordLength = SnapLength == 0 || SnapLength > PcapFormat.MaxRecordLength ? PcapFormat.MaxRecordLength : (int)SnapLength;
    }

    /// <summary>Opens a file for reading.</summary>
    /// <exception cref="InvalidDataException">The file header is short or not classic pcap.</exception>
    public static PcapReader Open(string path) =>
        new(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024, FileOptions.SequentialScan));

    /// <summary>True when the file was written big-endian.</summary>
    public bool IsBigEndian { get; }

    /// <summary>True for nanosecond timestamps (magic a1b23c4d); false for microseconds.</summary>
    public bool IsNanosecondResolution { get; }

    /// <summary>File format major version (2).</summary>
    public ushort VersionMajor { get; }

    /// <summary>File format minor version (4).</summary>
    public ushort VersionMinor { get; }

    /// <summary>Snapshot length: the most bytes stored per record.</summary>
    public uint SnapLength { get; }

    /// <summary>The link-type field as stored; its upper bits may carry FCS information.</summary>
    public uint LinkTypeField { get; }

    /// <summary>The link type (LINKTYPE_*, 1 = Ethernet): the field's low 26 bits, as libpcap reads it.</summary>
    public uint LinkType => LinkTypeField & 0x03FF_FFFF;

    /// <summary>Records read so far.</summary>
    public int RecordsRead { get; private set; }

    /// <summary>Reads the next record into an internal buffer reused by every call.</summary>
    /// <param name="header">The record header.</param>
    /// <param name="data">The captured bytes; valid until the next read.</param>
    /// <returns>False at the clean end of the file.</returns>
    /// <exception cref="InvalidDataException">The record is truncated or longer than the file allows.</exception>
    public bool TryReadNext(out PcapRecordHeader header, out ReadOnlySpan<byte> data)
    {
        if (!TryReadHeader(out header))
        {
            data = default;
            return false;
        }
        if (_buffer.Length < header.CapturedLength)
            _buffer = new byte[Math.Max(header.CapturedLength, _buffer.Length * 2)];
        ReadData(_buffer.AsSpan(0, header.CapturedLength));
        data = _buffer.AsSpan(0, header.CapturedLength);
        return true;
    }

    /// <summary>Reads the next record into <paramref name="buffer"/>; its first
    /// <see cref="PcapRecordHeader.CapturedLength"/> bytes are the frame.</summary>
    /// <param name="buffer">At least <see cref="PcapFormat.MaxRecordLength"/> bytes, or the snapshot length.</param>
    /// <param name="header">The record header.</param>
    /// <returns>False at the clean end of the file.</returns>
    /// <exception cref="InvalidDataException">The record is truncated or longer than the file allows.</exception>
    /// <exception cref="ArgumentException"><paramref name="buffer"/> is shorter than the record.</exception>
    public bool TryReadNext(Span<byte> buffer, out PcapRecordHeader header)
    {
        if (!TryReadHeader(out header))
            return false;
        if (buffer.Length < header.CapturedLength)
            throw new ArgumentException($"buffer of {buffer.Length} bytes cannot hold a record of {header.CapturedLength} bytes.", nameof(buffer));
        ReadData(buffer.Slice(0, header.CapturedLength));
        return true;
    }

    /// <summary>Reads the next record into a new <see cref="PcapRecord"/>; null at the clean end of the file.</summary>
    /// <exception cref="InvalidDataException">The record is truncated or longer than the file allows.</exception>
    public PcapRecord? ReadNext() =>
        TryReadNext(out var header, out var data) ? new PcapRecord(header, data.ToArray()) : null;

    /// <summary>Reads every remaining record (control plane: allocates one array per record).</summary>
    /// <exception cref="InvalidDataException">A record is truncated or longer than the file allows.</exception>
    public IEnumerable<PcapRecord> ReadAll()
    {
        while (ReadNext() is { } record)
            yield return record;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (!_leaveOpen)
            _stream.Dispose();
    }

    private bool TryReadHeader(out PcapRecordHeader header)
    {
        long start = _position;
        int read = _stream.ReadAtLeast(_header, _header.Length, throwOnEndOfStream: false);
        _position += read;
        if (read == 0)
        {
            header = default;
            return false;
        }
        if (read < _header.Length)
            throw new InvalidDataException($"pcap record {RecordsRead + 1}: header truncated ({read} of {PcapFormat.RecordHeaderLength} bytes) at offset {start}.");

        uint seconds = ReadU32(_header);
        uint fraction = ReadU32(_header.AsSpan(4));
        uint captured = ReadU32(_header.AsSpan(8));
        uint original = ReadU32(_header.AsSpan(12));
        if (captured > (uint)_maxRecordLength)
            throw new InvalidDataException(
                $"pcap record {RecordsRead + 1} at offset {start}: captured length {captured} exceeds the limit {_maxRecordLength} (snapshot length {SnapLength}, ceiling {PcapFormat.MaxRecordLength}).");
        long nanoseconds = IsNanosecondResolution ? fraction : fraction * 1000L;
        header = new PcapRecordHeader(seconds, nanoseconds, (int)captured, (int)Math.Min(original, int.MaxValue));
        return true;
    }

    private void ReadData(Span<byte> destination)
    {
        long start = _position;
        int read = _stream.ReadAtLeast(destination, destination.Length, throwOnEndOfStream: false);
        _position += read;
        if (read < destination.Length)
            throw new InvalidDataException($"pcap record {RecordsRead + 1}: data truncated ({read} of {destination.Length} bytes) at offset {start}.");
        RecordsRead++;
    }

    private ushort ReadU16(ReadOnlySpan<byte> b) =>
        _swapped ? BinaryPrimitives.ReadUInt16BigEndian(b) : BinaryPrimitives.ReadUInt16LittleEndian(b);

    private uint ReadU32(ReadOnlySpan<byte> b) =>
        _swapped ? BinaryPrimitives.ReadUInt32BigEndian(b) : BinaryPrimitives.ReadUInt32LittleEndian(b);
}
