using Offload.Hosting;

namespace Offload.Cli.Agent;

/// <summary>
/// Feeds frames into the agent's switch with <see cref="OffloadRuntime.Process"/>. Register one as a singleton and
/// <see cref="FrameSourceService"/> runs it for the agent's lifetime: <see cref="DeviceFrameSource"/> (AF_PACKET
/// device I/O, <c>offload run --port/--uplink/--devices</c>) and <see cref="PcapFrameSource"/> (<c>--replay</c>).
/// </summary>
internal interface IFrameSource
{
    /// <summary>Names the source in the log.</summary>
    string Name { get; }

    /// <summary>Reads frames and hands them to <paramref name="runtime"/> until the source ends or the agent stops.</summary>
    Task RunAsync(OffloadRuntime runtime, CancellationToken cancellationToken);
}
