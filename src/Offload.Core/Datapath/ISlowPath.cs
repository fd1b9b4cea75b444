using Offload.Actions;
using Offload.Conntrack;
using Offload.Flows;
using Offload.Packets;

namespace Offload.Datapath;

/// <summary>
/// The slow path: decides what to do with a packet the fast path has no flow for — the first packet
/// of a connection, a packet of a connection not (yet) offloaded, or an untracked frame such as ARP.
/// Implementations: the in-process policy slow path, and the Linux kernel reached through emulated NICs.
/// </summary>
/// <remarks>
/// A decision may complete synchronously (an in-process classifier) or later (the kernel); the
/// datapath holds later packets of the same connection until it does, so none is lost or reordered.
/// The datapath calls this from its own thread; implementations must not block it.
/// </remarks>
public interface ISlowPath
{
    /// <summary>Decides for one packet.</summary>
    ValueTask<SlowPathDecision> DecideAsync(SlowPathRequest request, CancellationToken cancellationToken);
}

/// <summary>A packet handed to the slow path.</summary>
public sealed record SlowPathRequest
{
    /// <summary>Port the frame arrived on.</summary>
    public required ushort InPort { get; init; }

    /// <summary>The 7-tuple of the packet (of the inner packet for a tunnel frame); default for non-IP frames.</summary>
    public required FlowKey Key { get; init; }

    /// <summary>The parse of the packet the key came from (the inner frame for a tunnel frame; offsets relative to it).</summary>
    public required ParsedPacket Packet { get; init; }

    /// <summary>The frame as received, outer headers included. Valid only until <see cref="ISlowPath.DecideAsync"/> returns:
    /// an implementation that decides later copies what it needs first.</summary>
    public required ReadOnlyMemory<byte> Frame { get; init; }

    /// <summary>Length of the outer tunnel headers in <see cref="Frame"/> (0 when not a tunnel frame).</summary>
    public int TunnelHeaderLength { get; init; }

    /// <summary>The outer parse of a tunnel frame (default otherwise).</summary>
    public ParsedPacket Outer { get; init; }

    /// <summary>The known connection this packet belongs to (<see cref="ConnectionId.None"/> for a first packet).</summary>
    public ConnectionId Connection { get; init; }

    /// <summary>The tracked state of <see cref="Connection"/> (its original and reply tuples carry its NAT bindings and
    /// backend choice); default for a first packet.</summary>
    public ConnectionInfo Tracked { get; init; }

    /// <summary>Direction of <see cref="Connection"/> the packet travels in.</summary>
    public ConnDirection Direction { get; init; }

    /// <summary>For an ICMP error related to a connection: that connection (the packet itself has no flow).</summary>
    public bool IsRelated { get; init; }

    /// <summary>Arrival time in <see cref="TimeProvider.GetTimestamp"/> ticks.</summary>
    public long Timestamp { get; init; }
}

/// <summary>
/// What the slow path decided for a packet, and — for a connection — for both of its directions, so
/// that the datapath can install the flows of both at once (claim S3).
/// </summary>
public sealed class SlowPathDecision
{
    /// <summary>Forward or drop this packet.</summary>
    public required ActionVerdict Verdict { get; init; }

    /// <summary>Why it is dropped (for <see cref="ActionVerdict.Drop"/>).</summary>
    public DropReason Reason { get; init; }

    /// <summary>The action for packets travelling like this one (program + this connection's NAT).</summary>
    public FlowAction Action { get; init; }

    /// <summary>The key packets of the opposite direction will carry when they reach the switch (after NAT,
    /// with their ingress port and VNI); null when there is no opposite direction to install.</summary>
    public FlowKey? ReplyKey { get; init; }

    /// <summary>The action for the opposite direction (un-NAT, delivery back to the sender).</summary>
    public FlowAction ReplyAction { get; init; }

    /// <summary>Track the connection in conntrack (false for untracked traffic).</summary>
    public bool Track { get; init; } = true;

    /// <summary>For a drop: install a drop flow so later packets of the same key are dropped in the fast path.</summary>
    public bool InstallDropFlow { get; init; }

    /// <summary>A frame the slow path answers with (for example an ARP or neighbour-advertisement reply), sent out of
    /// <see cref="ResponsePort"/> in place of the request.</summary>
    public byte[]? Response { get; init; }

    /// <summary>Port the <see cref="Response"/> goes out of.</summary>
    public ushort ResponsePort { get; init; }

    /// <summary>What the decision was derived from (policy generation, rules, load-balancer choice…), kept with the
    /// connection so a policy change can revalidate it.</summary>
    public object? Provenance { get; init; }

    /// <summary>A drop decision.</summary>
    public static SlowPathDecision Drop(DropReason reason, bool installDropFlow = false, object? provenance = null) =>
        new() { Verdict = ActionVerdict.Drop, Reason = reason, Action = new FlowAction(ActionProgram.Drop(reason), default), Track = false, InstallDropFlow = installDropFlow, Provenance = provenance };
}

/// <summary>
/// Optional for a slow path: told when a connection it decided ends, or when a decision it made was not
/// used (the connection could not be tracked), so that it can release what the decision held — SNAT
/// ports, load-balancer connection counts.
/// </summary>
public interface ISlowPathObserver
{
    /// <summary>A tracked connection was removed (timeout, close, eviction, revalidation).</summary>
    void OnConnectionRemoved(in ConnectionInfo connection);

    /// <summary>
    /// A tracked connection was removed, and why. The datapath calls this overload; by default it forwards to
    /// <see cref="OnConnectionRemoved(in ConnectionInfo)"/>. A slow path that keeps its own state per connection (the
    /// kernel's conntrack) tells <see cref="ConntrackRemoveReason.SlowPath"/> — the removal followed its own — from a
    /// removal it has yet to follow.
    /// </summary>
    void OnConnectionRemoved(in ConnectionInfo connection, ConntrackRemoveReason reason) => OnConnectionRemoved(in connection);

    /// <summary>A forwarding decision was not recorded in conntrack (table full, invalid, or a racing duplicate).</summary>
    void OnDecisionDiscarded(SlowPathRequest request, SlowPathDecision decision);
}
