using Offload.Actions;
using Offload.Datapath;
using Offload.Flows;
using Offload.Packets;

namespace Offload.Cli.Demo;

/// <summary>
/// The demo's slow path: a fixed topology (one virtual network, two local VMs, one remote VM behind
/// VXLAN, one load-balancer VIP, SSH denied). It decides both directions of each connection the way
/// the policy slow path does, so the datapath can install them together.
/// </summary>
internal sealed class DemoSlowPath(DemoTopology topology) : ISlowPath
{
    public ValueTask<SlowPathDecision> DecideAsync(SlowPathRequest request, CancellationToken cancellationToken) =>
        new(Decide(request));

    private SlowPathDecision Decide(SlowPathRequest request)
    {
        var key = request.Key;
        if (!request.Packet.IsIp)
            return SlowPathDecision.Drop(DropReason.UnsupportedEtherType);
        if (key.Protocol == IpProtocol.Tcp && key.DstPort == 22)
            return SlowPathDecision.Drop(DropReason.Acl, installDropFlow: true);

        var dst = key.DstIp;
        ushort dstPort = key.DstPort;
        bool dnat = false;
        if (key.DstIp == topology.Vip && key.DstPort == topology.VipPort)
        {
            // Pick a backend by the connection's hash: sticky for the connection's life (its flows hold it).
            var backend = topology.VipBackends[(int)(FlowHash.SymmetricHash(in key) % (uint)topology.VipBackends.Length)];
            dst = backend.Ip;
            dstPort = backend.Port;
            dnat = true;
        }
        if (!topology.TryRoute(dst, out var there) || !topology.TryRoute(key.SrcIp, out var back))
            return SlowPathDecision.Drop(DropReason.NoRoute);

        var forward = Program(there, decap: request.TunnelHeaderLength > 0);
        var reverse = Program(back, decap: there.Encap is not null);
        if (dnat)
        {
            forward = WithNat(there, request.TunnelHeaderLength > 0);
            reverse = WithNat(back, there.Encap is not null);
        }
        var replyKey = new FlowKey(dst, dstPort, key.SrcIp, key.SrcPort, key.Protocol, there.Port, key.Vni);
        if (key.Protocol == IpProtocol.Icmp)
            key.TryInvert(there.Port, key.Vni, out replyKey);
        return new SlowPathDecision
        {
            Verdict = ActionVerdict.Output,
            Action = new FlowAction(forward, dnat ? new NatRewrite(NatKind.Destination, dst, dstPort) : default),
            ReplyKey = replyKey,
            ReplyAction = new FlowAction(reverse, dnat ? new NatRewrite(NatKind.Source, key.DstIp, key.DstPort) : default),
        };
    }

    private ActionProgram Program(DemoTopology.Destination to, bool decap) => Build(to, decap, nat: false);

    private ActionProgram WithNat(DemoTopology.Destination to, bool decap) => Build(to, decap, nat: true);

    private ActionProgram Build(DemoTopology.Destination to, bool decap, bool nat)
    {
        var b = ActionProgram.CreateBuilder();
        if (decap)
            b.Decapsulate();
        b.SetSourceMac(topology.GatewayMac).SetDestinationMac(to.Mac);
        if (nat)
            b.ApplyNat();
        if (to.Encap is not null)
            b.Encapsulate(to.Encap);
        return b.Output(to.Port).Build();
    }
}
