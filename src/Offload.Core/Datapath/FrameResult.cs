using Offload.Actions;
using Offload.Conntrack;
using Offload.Flows;

namespace Offload.Datapath;

/// <summary>Which path handled a frame.</summary>
public enum PacketPath : byte
{
    /// <summary>A cached flow's action was applied without the slow path (claims C4, C15).</summary>
    Fast,
    /// <summary>The slow path decided (claims C2, C14).</summary>
    Slow,
}

/// <summary>What happened to one input frame.</summary>
public readonly struct FrameResult
{
    /// <summary>The caller's value given with the frame.</summary>
    public long Cookie { get; init; }

    /// <summary>Ingress port.</summary>
    public ushort InPort { get; init; }

    /// <summary>The 7-tuple (of the inner packet for a tunnel frame); default for frames that did not parse as IP.</summary>
    public FlowKey Key { get; init; }

    /// <summary>Fast or slow path.</summary>
    public PacketPath Path { get; init; }

    /// <summary>Output or drop.</summary>
    public ActionVerdict Verdict { get; init; }

    /// <summary>Output port for <see cref="ActionVerdict.Output"/>.</summary>
    public ushort OutPort { get; init; }

    /// <summary>Drop reason for <see cref="ActionVerdict.Drop"/>.</summary>
    public DropReason Reason { get; init; }

    /// <summary>The connection, or <see cref="ConnectionId.None"/>.</summary>
    public ConnectionId Connection { get; init; }

    /// <summary>Connection state after this packet (meaningful when <see cref="Connection"/> is set).</summary>
    public ConnState State { get; init; }

    /// <summary>Connection timeout in seconds after this packet (0 when untracked).</summary>
    public int TimeoutSeconds { get; init; }

    /// <summary>True when the frame was an answer from the slow path (ARP/ND reply) rather than the input frame.</summary>
    public bool IsResponse { get; init; }
}

/// <summary>Receives the datapath's results: every input frame produces exactly one call, in order per connection.</summary>
public interface IFrameSink
{
    /// <summary>
    /// One frame's result. For <see cref="ActionVerdict.Output"/>, <paramref name="frame"/> holds the rewritten frame to send
    /// out of <see cref="FrameResult.OutPort"/> (valid only during the call); for a drop, the frame as it was when dropped.
    /// </summary>
    void OnFrame(in FrameResult result, ReadOnlySpan<byte> frame);
}

/// <summary>A frame given to <see cref="Datapath.Process(Span{InputFrame})"/>.</summary>
public struct InputFrame
{
    /// <summary>The frame, with headroom for encapsulation; rewritten in place.</summary>
    public Offload.Packets.PacketBuffer Buffer;
    /// <summary>Port it arrived on.</summary>
    public ushort InPort;
    /// <summary>Caller's value returned in <see cref="FrameResult.Cookie"/>.</summary>
    public long Cookie;

    /// <summary>Creates an input frame.</summary>
    public InputFrame(Offload.Packets.PacketBuffer buffer, ushort inPort, long cookie = 0)
    {
        Buffer = buffer;
        InPort = inPort;
        Cookie = cookie;
    }
}
