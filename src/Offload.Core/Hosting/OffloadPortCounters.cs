namespace Offload.Hosting;

/// <summary>One port's traffic through the hosted switch since it started.</summary>
/// <param name="Port">The port number.</param>
/// <param name="Name">The policy's port name (<c>uplink</c> for the uplink).</param>
/// <param name="InFrames">Frames handed to the switch from this port (counted whatever became of them).</param>
/// <param name="InBytes">Bytes of those frames as received.</param>
/// <param name="OutFrames">Frames the switch sent out of this port (forwarded, or answered on the slow path).</param>
/// <param name="OutBytes">Bytes of those frames as sent (with any tunnel header the switch added).</param>
public readonly record struct OffloadPortCounters(ushort Port, string Name, long InFrames, long InBytes, long OutFrames, long OutBytes);
