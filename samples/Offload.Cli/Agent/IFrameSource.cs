using Offload.Hosting;

namespace Offload.Cli.Agent;

/// <summary>
/// Feeds frames into the agent's switch with <see cref="OffloadRuntime.Process"/>. Register one as a singleton and
/// <see cref="FrameSourceService"/> runs it for the agent's lifetime. Device I/O (AF_PACKET) will be one; for now
/// <see cref="PcapFrameSource"/> (<c>offload run --replay</c>) is the only source.
/// </summary>
internal interface IFrameSource
{
    /// <summary>Names the source in the log.</summary>
    string Name { get; }

    /// <summary>Reads frames and hands them to <paramref name="runtime"/> until the source ends or the agent stops.</summary>
    Task RunAsync(OffloadRuntime runtime, CancellationToken cancellationToken);
}
