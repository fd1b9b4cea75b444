using System.Buffers.Binary;

namespace Offload.Capture;

/// <summary>
/// Writes a classic pcap file: little-endian, microsecond timestamps, Ethernet link type — the format every
/// tool reads (tshark, tcpdump, Wireshark).
/// </summary>
public sealed class PcapWriter : IDisposable
{
    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private readonly byte[] _header = new byte[PcapFormat.RecordHeaderLength];

    /// <summary>Writes the file header to <paramref name="stream"/>.</summary>
    /// <param name="stream">A writable stream.</param>
    /// <param name="snapLength">The snapshot length recorded in the header; longer frames are cut to it.</param>
    /// <param name="leaveOpen">True to leave <paramref name="stream"/> open on <see cref="Dispose"/>.</param>
    public PcapWriter(Stream stream, int snapLength = PcapFormat.MaxRecordLength, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfLessThan(snapLength, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(snapLength, PcapFormat.MaxRecordLength);
        _stream = stream;
        _leaveOpen = leaveOpen;
        SnapLength = snapLength;

        Span<byte> header = stackalloc byte[PcapFormat.FileHeaderLength];
        BinaryPrimitives.WriteUInt32LittleEndian(header, PcapFormat.MicrosecondMagic);
        BinaryPrimitives.WriteUInt16LittleEndian(header.Slice(4), 2);
        BinaryPrimitives.WriteUInt16LittleEndian(header.Slice(6), 4);
        BinaryPrimitives.WriteInt32LittleEndian(header.Slice(8), 0); // thiszone: UTC
        BinaryPrimitives.WriteUInt32LittleEndian(header.Slice(12), 0); // sigfigs
        BinaryPrimitives.WriteUInt32LittleEndian(header.Slice(16), (uint)snapLength);
        BinaryPrimitives.WriteUInt32LittleEndian(header.Slice(20), PcapFormat.LinkTypeEthernet);
        _stream.Write(header);
    }

    /// <summary>Creates (or overwrites) a file and writes the file header.</summary>
    public static PcapWriter Create(string path, int snapLength = PcapFormat.MaxRecordLength) =>
        new(new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, 64 * 1024), snapLength);

    /// <summary>The snapshot length in the file header.</summary>
    public int SnapLength { get; }

    /// <summary>Records written so far.</summary>
    public int RecordsWritten { get; private set; }

    /// <summary>Writes one Ethernet frame with a timestamp (kept to the microsecond).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The timestamp is before 1970 or after 2106 (the format's 32-bit seconds).</exception>
    public void Write(DateTimeOffset timestamp, ReadOnlySpan<byte> frame)
    {
        long ticks = timestamp.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        ArgumentOutOfRangeException.ThrowIfNegative(ticks, nameof(timestamp));
        Write(ticks / TimeSpan.TicksPerSecond, (int)(ticks % TimeSpan.TicksPerSecond / 10), frame);
    }

    /// <summary>Writes one Ethernet frame; frames longer than <see cref="SnapLength"/> are cut and keep their original length.</summary>
    /// <param name="seconds">Seconds since the Unix epoch.</param>
    /// <param name="microseconds">Microseconds within the second.</param>
    /// <param name="frame">The frame.</param>
    public void Write(long seconds, int microseconds, ReadOnlySpan<byte> frame)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(seconds);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(seconds, uint.MaxValue);
        ArgumentOutOfRangeException.ThrowIfNegative(microseconds);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(microseconds, 999_999);
        int captured = Math.Min(frame.Length, SnapLength);
        BinaryPrimitives.WriteUInt32LittleEndian(_header, (uint)seconds);
        BinaryPrimitives.WriteUInt32LittleEndian(_header.AsSpan(4), (uint)microseconds);
        BinaryPrimitives.WriteUInt32LittleEndian(_header.AsSpan(8), (uint)captured);
        BinaryPrimitives.WriteUInt32LittleEndian(_header.AsSpan(12), (uint)frame.Length);
        _stream.Write(_header);
        _stream.Write(frame.Slice(0, captured));
        RecordsWritten++;
    }

    /// <summary>Flushes buffered records to the stream.</summary>
    public void Flush() => _stream.Flush();

    /// <inheritdoc/>
    public void Dispose()
    {
        _stream.Flush();
        if (!_leaveOpen)
            _stream.Dispose();
    }
}
