using System.Collections.Concurrent;
using Offload.Actions;
using Offload.Flows;
using Offload.Kernel.Conntrack;
using Offload.Packets;
using Offload.Switching;

namespace Offload.Kernel.SlowPath;

/// <summary>
/// Turns a kernel conntrack entry into the fast-path flows of both directions, from the entry's tuples and the
/// topology alone, so a live decision and a restart derive the same flows. What the kernel does to a routed packet is
/// fixed by <see cref="KernelHostTopology"/>: the source MAC of the device it leaves by (the router MAC, or the host's
/// underlay MAC on the uplink), the destination MAC of the permanent neighbour (the VM's MAC, or the gateway's on the
/// uplink), TTL − 1, and the NAT the two tuples differ by; a tunnel device stands for the encapsulation to the remote
/// port's host. QoS is not the kernel's (the ruleset has none), so the source port's meter is charged as the policy
/// slow path does.
/// </summary>
internal sealed class KernelDecisionBuilder
{
    private readonly CompiledPolicy _policy;
    private readonly ConcurrentDictionary<ProgramShape, ActionProgram> _programs = new();

    public KernelDecisionBuilder(CompiledPolicy policy) => _policy = policy;

    public CompiledPolicy Policy => _policy;

    /// <summary>The flows of the connection with these tuples; false when it is not one this host switches (neither end
    /// a local VM, started from the public network) or its NAT cannot be expressed (source and destination both translated).</summary>
    public bool TryBuild(in ConntrackTuple original, in ConntrackTuple reply, out KernelConnectionFlows flows)
    {
        flows = default;
        if (!TryResolveEnds(original, reply, out var from, out var to))
            return false;
        if (!TryNat(original, reply, out var forwardNat, out var replyNat))
            return false;
        var (inPort, vni) = IngressOf(from, to);
        var (replyInPort, replyVni) = IngressOf(to, from);
        var forward = Program(from, to, !forwardNat.IsNone);
        var back = Program(to, from, !replyNat.IsNone);
        flows = new KernelConnectionFlows(
            original.ToFlowKey(inPort, vni), new FlowAction(forward, forwardNat),
            reply.ToFlowKey(replyInPort, replyVni), new FlowAction(back, replyNat),
            forward.OutPort);
        return true;
    }

    /// <summary>The datapath key of the original tuple (ingress port and VNI from the topology).</summary>
    public bool TryResolveKey(in ConntrackTuple original, in ConntrackTuple reply, out FlowKey key)
    {
        key = default;
        if (!TryResolveEnds(original, reply, out var from, out var to))
            return false;
        var (inPort, vni) = IngressOf(from, to);
        key = original.ToFlowKey(inPort, vni);
        return true;
    }

    // The sender of the original direction and its real receiver (after DNAT: the reply's source).
    private bool TryResolveEnds(in ConntrackTuple original, in ConntrackTuple reply, out End from, out End to)
    {
        from = Resolve(original.Source);
        to = Resolve(reply.Source);
        if (from.Port is null)
            return false; // started from the public network: nothing this host admits
        return from.IsLocal || to.IsLocal; // two remote ends: another host's connection
    }

    private End Resolve(NetAddress ip) => new(_policy.PortByIp(ip));

    // Where a packet from `sender` to `receiver` reaches the switch: a local VM's own port, else the uplink — in a tunnel
    // with the receiving network's VNI (the sending host encapsulates with the destination network's VNI), or plain
    // (VNI 0) from the public network.
    private static (ushort Port, uint Vni) IngressOf(End sender, End receiver)
    {
        if (sender.IsLocal)
            return (sender.Port!.Number, sender.Port.Network.Vni);
        if (sender.Port is null)
            return (PortRegistry.Uplink, 0);
        return (PortRegistry.Uplink, receiver.Port!.Network.Vni);
    }

    private ActionProgram Program(End sender, End receiver, bool nat)
    {
        bool decap = sender.Port is { IsLocal: false };
        int meter = sender.IsLocal ? sender.Port!.MeterId : 0;
        ProgramShape shape = receiver.Port switch
        {
            null => new ProgramShape(decap, _policy.HostUnderlay.Mac, _policy.GatewayMac, nat, meter, null, PortRegistry.Uplink),
            { IsLocal: true } local => new ProgramShape(decap, _policy.GatewayMac, local.Mac, nat, meter, null, local.Number),
            var remote => new ProgramShape(decap, _policy.GatewayMac, remote.Mac, nat, meter, _policy.TunnelTo(remote.Host, remote.Network), PortRegistry.Uplink),
        };
        return _programs.GetOrAdd(shape, static s => s.Build());
    }

    // NAT is what the two tuples differ by. For ICMP queries the "port" is the identifier, which a reply tuple carries
    // in its source port; a DNAT keeps it.
    private static bool TryNat(in ConntrackTuple original, in ConntrackTuple reply, out NatRewrite forward, out NatRewrite back)
    {
        bool icmp = original.IsIcmp;
        bool dnat = reply.Source != original.Destination || (!icmp && reply.SourcePort != original.DestinationPort);
        ushort replyIdentity = icmp ? reply.SourcePort : reply.DestinationPort;
        bool snat = reply.Destination != original.Source || replyIdentity != original.SourcePort;
        forward = default;
        back = default;
        if (dnat && snat)
            return false;
        if (dnat)
        {
            forward = NatRewrite.Destination(reply.Source, icmp ? (ushort)0 : reply.SourcePort);
            back = NatRewrite.Source(original.Destination, icmp ? (ushort)0 : original.DestinationPort);
        }
        else if (snat)
        {
            forward = NatRewrite.Source(reply.Destination, replyIdentity);
            back = NatRewrite.Destination(original.Source, original.SourcePort);
        }
        return true;
    }

    private readonly record struct End(CompiledPort? Port)
    {
        public bool IsLocal => Port is { IsLocal: true };
    }

    private readonly record struct ProgramShape(bool Decap, MacAddress SrcMac, MacAddress DstMac, bool Nat, int MeterId, EncapTemplate? Encap, ushort OutPort)
    {
        public ActionProgram Build()
        {
            var b = ActionProgram.CreateBuilder();
            if (Decap)
                b.Decapsulate();
            b.SetSourceMac(SrcMac).SetDestinationMac(DstMac).DecrementTtl();
            if (Nat)
                b.ApplyNat();
            if (MeterId != 0)
                b.Meter(MeterId);
            if (Encap is not null)
                b.Encapsulate(Encap);
            return b.Output(OutPort).Build();
        }
    }
}
