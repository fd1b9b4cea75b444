using Offload.Actions;
using Offload.Datapath;
using Offload.Flows;
using Offload.Packets;

namespace Offload.Tests.Datapath;

/// <summary>
/// A small but real slow path for datapath tests: routes by (VNI, destination IP) to a port with MAC
/// rewrites and optional tunnel encapsulation, DNATs virtual IPs, and denies destination ports.
/// It decides both directions of a connection as a policy slow path does.
/// </summary>
internal sealed class StaticSlowPath : ISlowPath
{
    public sealed record Route(ushort OutPort, MacAddress DstMac, MacAddress SrcMac, ushort ReplyInPort, EncapTemplate? Encap = null);

    public Dictionary<(uint Vni, NetAddress Ip), Route> Routes { get; } = new();
    public Dictionary<(NetAddress Ip, ushort Port), (NetAddress Ip, ushort Port)> VirtualIps { get; } = new();
    public HashSet<ushort> DeniedPorts { get; } = new();
    private readonly Dictionary<(Route, bool, bool), ActionProgram> _programs = new();

    public List<SlowPathRequest> Requests { get; } = new();

    /// <summary>Keep every request for inspection (off for bulk tests, where it would dominate memory).</summary>
    public bool RecordRequests { get; set; } = true;

    public int Calls { get; private set; }

    public void AddRoute(uint vni, string ip, Route route) => Routes[(vni, NetAddress.Parse(ip))] = route;

    public ValueTask<SlowPathDecision> DecideAsync(SlowPathRequest request, CancellationToken cancellationToken)
    {
        Calls++;
        if (RecordRequests)
            Requests.Add(request);
        return new ValueTask<SlowPathDecision>(Decide(request));
    }

    public SlowPathDecision Decide(SlowPathRequest request)
    {
        var key = request.Key;
        if (!request.Packet.IsIp)
            return SlowPathDecision.Drop(DropReason.NoRoute);
        if (DeniedPorts.Contains(key.DstPort))
            return SlowPathDecision.Drop(DropReason.Acl, installDropFlow: true);

        var dst = key.DstIp;
        ushort dstPort = key.DstPort;
        bool dnat = VirtualIps.TryGetValue((key.DstIp, key.DstPort), out var backend);
        if (dnat)
            (dst, dstPort) = backend;
        if (!Routes.TryGetValue((key.Vni, dst), out var route))
            return SlowPathDecision.Drop(DropReason.NoRoute);

        var forward = Program(route, decap: request.TunnelHeaderLength > 0, nat: dnat);
        var forwardNat = dnat ? new NatRewrite(NatKind.Destination, backend.Ip, backend.Port) : default;

        FlowKey? replyKey = null;
        FlowAction replyAction = default;
        if (Routes.TryGetValue((key.Vni, key.SrcIp), out var back))
        {
            var reply = new FlowKey(dst, dstPort, key.SrcIp, key.SrcPort, key.Protocol, route.ReplyInPort, key.Vni);
            if (key.Protocol is IpProtocol.Icmp or IpProtocol.IcmpV6)
                new FlowKey(key.SrcIp, key.SrcPort, dst, key.DstPort, key.Protocol, key.InPort, key.Vni).TryInvert(route.ReplyInPort, key.Vni, out reply);
            replyKey = reply;
            replyAction = new FlowAction(Program(back, decap: route.Encap is not null, nat: dnat),
                dnat ? new NatRewrite(NatKind.Source, key.DstIp, key.DstPort) : default);
        }
        return new SlowPathDecision
        {
            Verdict = ActionVerdict.Output,
            Action = new FlowAction(forward, forwardNat),
            ReplyKey = replyKey,
            ReplyAction = replyAction,
        };
    }

    // Programs are shared by every connection with the same route, as a real slow path shares them.
    private ActionProgram Program(Route route, bool decap, bool nat)
    {
        if (!_programs.TryGetValue((route, decap, nat), out var program))
            _programs[(route, decap, nat)] = program = Build(route, decap, nat);
        return program;
    }

    private static ActionProgram Build(Route route, bool decap, bool nat)
    {
        var b = ActionProgram.CreateBuilder();
        if (decap)
            b.Decapsulate();
        b.SetSourceMac(route.SrcMac).SetDestinationMac(route.DstMac);
        if (nat)
            b.ApplyNat();
        if (route.Encap is not null)
            b.Encapsulate(route.Encap);
        return b.Output(route.OutPort).Build();
    }
}

/// <summary>A slow path whose decisions complete only when the test releases them (like the kernel's).</summary>
internal sealed class GatedSlowPath(StaticSlowPath inner) : ISlowPath
{
    private readonly List<(SlowPathRequest Request, TaskCompletionSource<SlowPathDecision> Done)> _waiting = new();

    public int Waiting => _waiting.Count;

    public ValueTask<SlowPathDecision> DecideAsync(SlowPathRequest request, CancellationToken cancellationToken)
    {
        // Keep what is needed: the frame is only valid during this call.
        var copy = request with { Frame = request.Frame.ToArray() };
        var done = new TaskCompletionSource<SlowPathDecision>(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiting.Add((copy, done));
        return new ValueTask<SlowPathDecision>(done.Task);
    }

    public void ReleaseAll()
    {
        foreach (var (request, done) in _waiting)
            done.SetResult(inner.Decide(request));
        _waiting.Clear();
    }

    public void FailAll()
    {
        foreach (var (_, done) in _waiting)
            done.SetException(new InvalidOperationException("slow path failed"));
        _waiting.Clear();
    }
}

/// <summary>Collects every result with a copy of the output frame.</summary>
internal sealed class CollectingSink : IFrameSink
{
    public List<(FrameResult Result, byte[] Frame)> Frames { get; } = new();

    public void OnFrame(in FrameResult result, ReadOnlySpan<byte> frame) => Frames.Add((result, frame.ToArray()));

    public (FrameResult Result, byte[] Frame) Last => Frames[^1];
}
