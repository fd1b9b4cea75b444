using Offload.Actions;
using Offload.Conntrack;
using Offload.Datapath;
using Offload.Flows;
using Offload.Switching;

namespace Offload.Cli.Output;

/// <summary>One input frame's result as <c>offload trace</c> reports it (SPEC "The CLI").</summary>
internal sealed record TraceEntry
{
    public required long Index { get; init; }
    public required DateTimeOffset Time { get; init; }
    public required string? InPort { get; init; }
    /// <summary>The 7-tuple, or null for a frame that carried none (ARP, malformed).</summary>
    public required FlowKey? Key { get; init; }
    public required PacketPath Path { get; init; }
    /// <summary>"deliver" (to a local VM port), "forward" (out of the uplink) or "drop".</summary>
    public required string Verdict { get; init; }
    public required string? OutPort { get; init; }
    public required SentFrame Sent { get; init; }
    public required string? CtState { get; init; }
    public required int? CtTimeout { get; init; }
    public required string? Reason { get; init; }
    /// <summary>Frame length as received.</summary>
    public int Length { get; init; }

    /// <summary>Reads a result of <paramref name="vswitch"/>; <paramref name="frame"/> is the frame as the sink got it.</summary>
    public static TraceEntry From(VirtualSwitch vswitch, in FrameResult r, ReadOnlySpan<byte> frame, DateTimeOffset time, int inputLength) =>
        From(vswitch, vswitch.SlowPath.Policy.HostUnderlay.Ip, in r, frame, time, inputLength);

    /// <summary>Reads a result of any switch's datapath; <paramref name="hostUnderlay"/> tells the frames it encapsulated.</summary>
    public static TraceEntry From(SwitchView vswitch, Packets.NetAddress hostUnderlay, in FrameResult r, ReadOnlySpan<byte> frame, DateTimeOffset time,
        int inputLength)
    {
        bool output = r.Verdict == ActionVerdict.Output;
        var key = r.Key;
        bool hasKey = key.Protocol != 0 || !key.SrcIp.IsNone || !key.DstIp.IsNone;
        // NONE is never a stored state: a result with it carries no connection state (an ICMP error following its connection).
        bool tracked = !r.Connection.IsNone && r.State != ConnState.None;
        return new TraceEntry
        {
            Index = r.Cookie,
            Time = time,
            InPort = vswitch.PortName(r.InPort),
            Key = hasKey ? key : null,
            Path = r.Path,
            Verdict = !output ? "drop" : r.OutPort == PortRegistry.Uplink ? "forward" : "deliver",
            OutPort = output ? vswitch.PortName(r.OutPort) : null,
            Sent = SentFrame.Of(in r, frame, hostUnderlay),
            CtState = tracked ? r.State.Name() : null,
            CtTimeout = tracked ? r.TimeoutSeconds : null,
            Reason = output ? null : r.Reason.Name(),
            Length = inputLength,
        };
    }
}
