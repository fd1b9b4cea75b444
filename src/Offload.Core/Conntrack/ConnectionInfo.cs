using System.Runtime.InteropServices;
using Offload.Flows;

namespace Offload.Conntrack;

/// <summary>A copy of one connection's record, for the control plane (dumps, observers).</summary>
[StructLayout(LayoutKind.Auto)]
public readonly struct ConnectionInfo
{
    /// <summary>The connection's handle (stale once it has been removed).</summary>
    public ConnectionId Id { get; init; }
    /// <summary>Key of the original direction, as given at creation.</summary>
    public FlowKey Original { get; init; }
    /// <summary>Key replies carry (after NAT), as given at creation.</summary>
    public FlowKey Reply { get; init; }
    /// <summary>Current state.</summary>
    public ConnState State { get; init; }
    /// <summary>L4 protocol.</summary>
    public byte Protocol => Original.Protocol;
    /// <summary>Time left before expiry (zero when already due).</summary>
    public TimeSpan TimeoutRemaining { get; init; }
    /// <summary>Packets counted in the original direction.</summary>
    public long OriginalPackets { get; init; }
    /// <summary>Bytes (frame lengths) counted in the original direction.</summary>
    public long OriginalBytes { get; init; }
    /// <summary>Packets counted in the reply direction.</summary>
    public long ReplyPackets { get; init; }
    /// <summary>Bytes counted in the reply direction.</summary>
    public long ReplyBytes { get; init; }
    /// <summary>Creation time, <see cref="TimeProvider.GetTimestamp"/> ticks.</summary>
    public long CreatedTicks { get; init; }
    /// <summary>Time of the last counted packet, <see cref="TimeProvider.GetTimestamp"/> ticks.</summary>
    public long LastSeenTicks { get; init; }
    /// <summary>A packet was seen in the reply direction (IPS_SEEN_REPLY).</summary>
    public bool SeenReply { get; init; }
    /// <summary>The connection is assured (IPS_ASSURED): it is never early-dropped.</summary>
    public bool Assured { get; init; }

    /// <inheritdoc/>
    public override string ToString() =>
        $"{Packets.IpProtocol.Name(Protocol)} {State.Name()} {(long)TimeoutRemaining.TotalSeconds}s {Original} / {Reply}{(Assured ? " [ASSURED]" : SeenReply ? "" : " [UNREPLIED]")}";
}
