using Offload.Datapath;

namespace Offload.Policy;

/// <summary>What is offloaded and when (<c>offload:</c>, claim S3).</summary>
public sealed record OffloadConfig
{
    /// <summary>The defaults of <see cref="OffloadPolicy"/>.</summary>
    public static OffloadConfig Default { get; } = new();

    /// <summary>When a connection's flows go to the fast path. Default first packet.</summary>
    public OffloadTrigger When { get; init; } = OffloadTrigger.FirstPacket;

    /// <summary>Packets (both directions) a connection must have carried first; 0 or more.</summary>
    public int MinPackets { get; init; }

    /// <summary>A fresh <see cref="OffloadPolicy"/> with these values.</summary>
    public OffloadPolicy ToOffloadPolicy() => new() { When = When, MinPackets = MinPackets };
}
