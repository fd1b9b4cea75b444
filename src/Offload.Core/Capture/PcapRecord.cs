namespace Offload.Capture;

/// <summary>One record with its own copy of the frame (control plane: allocates).</summary>
/// <param name="Header">Record header.</param>
/// <param name="Data">The captured bytes.</param>
public sealed record PcapRecord(PcapRecordHeader Header, byte[] Data);
