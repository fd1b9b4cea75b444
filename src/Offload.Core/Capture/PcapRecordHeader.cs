namespace Offload.Capture;

/// <summary>
/// The header of one capture record. The timestamp is kept as whole seconds since the Unix epoch plus
/// nanoseconds within the second, whatever the file's resolution (microsecond files are scaled up), so no
/// precision is lost; <see cref="Timestamp"/> converts it (DateTimeOffset has 100 ns resolution).
/// </summary>
/// <param name="Seconds">Seconds since 1970-01-01T00:00:00Z.</param>
/// <param name="Nanoseconds">Nanoseconds within the second (0–999,999,999 in a well-formed file).</param>
/// <param name="CapturedLength">Bytes of the frame stored in the file.</param>
/// <param name="OriginalLength">Length of the frame on the wire (≥ <paramref name="CapturedLength"/> when truncated by the snapshot length).</param>
public readonly record struct PcapRecordHeader(long Seconds, long Nanoseconds, int CapturedLength, int OriginalLength)
{
    /// <summary>The timestamp as a <see cref="DateTimeOffset"/> in UTC (truncated to 100 ns).</summary>
    public DateTimeOffset Timestamp => DateTimeOffset.UnixEpoch.AddTicks(Seconds * TimeSpan.TicksPerSecond + Nanoseconds / 100);
}
