using Offload.Actions;
using Offload.Datapath;
using Offload.Flows;
using Offload.Packets;

namespace Offload.Benchmarks.Workloads;

/// <summary>
/// A minimal slow path in the manner of the test suite's StaticSlowPath: vm1 (port 1) talks to a virtual IP whose
/// address is DNATed to vm2 (port 2), ports kept; MACs rewritten; both directions decided at once. Programs are
/// shared by every connection, as a real slow path shares them.
/// </summary>
internal sealed class DnatSlowPath : ISlowPath
{
    public const ushort Vm1 = 1, Vm2 = 2;
    public const uint Vni = 100;
    public static readonly NetAddress Vm1Ip = NetAddress.Parse("10.1.0.1");
    public static readonly NetAddress Vm2Ip = NetAddress.Parse("10.1.0.2");
    public static readonly NetAddress Vip = NetAddress.Parse("10.1.255.10");
    public static readonly MacAddress Vm1Mac = MacAddress.Parse("02:00:00:01:00:01");
    public static readonly MacAddress Vm2Mac = MacAddress.Parse("02:00:00:01:00:02");
    public static readonly MacAddress GatewayMac = MacAddress.Parse("02:00:00:00:ff:fe");

    private readonly ActionProgram _toVm2 = ActionProgram.CreateBuilder()
        .SetSourceMac(GatewayMac).SetDestinationMac(Vm2Mac).ApplyNat().Output(Vm2).Build();
    private readonly ActionProgram _toVm1 = ActionProgram.CreateBuilder()
        .SetSourceMac(GatewayMac).SetDestinationMac(Vm1Mac).ApplyNat().Output(Vm1).Build();

    public int Calls { get; private set; }

    public ValueTask<SlowPathDecision> DecideAsync(SlowPathRequest request, CancellationToken cancellationToken)
    {
        Calls++;
        var key = request.Key;
        if (!request.Packet.IsIp || key.DstIp != Vip)
            return new(SlowPathDecision.Drop(DropReason.NoRoute));
        var reply = new FlowKey(Vm2Ip, key.DstPort, key.SrcIp, key.SrcPort, key.Protocol, Vm2, key.Vni);
        return new(new SlowPathDecision
        {
            Verdict = ActionVerdict.Output,
            Action = new FlowAction(_toVm2, NatRewrite.Destination(Vm2Ip)),
            ReplyKey = reply,
            ReplyAction = new FlowAction(_toVm1, NatRewrite.Source(Vip)),
        });
    }

    /// <summary>Ports of connection <paramref name="c"/>: up to 60,000 source ports per destination port.</summary>
    public static (ushort Src, ushort Dst) Ports(int c) => ((ushort)(1024 + c % 60000), (ushort)(1 + c / 60000));
}

/// <summary>Counts results; what an embedder's transmit stage would minimally do.</summary>
internal sealed class CountingSink : IFrameSink
{
    public long Forwarded;
    public long Dropped;
    public long Fast;

    public void OnFrame(in FrameResult result, ReadOnlySpan<byte> frame)
    {
        if (result.Verdict == ActionVerdict.Output)
            Forwarded++;
        else
            Dropped++;
        if (result.Path == PacketPath.Fast)
            Fast++;
    }
}
