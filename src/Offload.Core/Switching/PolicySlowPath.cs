using Offload.Actions;
using Offload.Conntrack;
using Offload.Datapath;
using Offload.Flows;
using Offload.Nat;
using Offload.Packets;
using Offload.Policy;

namespace Offload.Switching;

/// <summary>
/// The in-process slow path: decides first packets from the policy (claims C6–C13, S1, S2, A1) —
/// ACL, stateful security groups, delivery inside a network, tunnels to other hosts, load-balancer
/// DNAT, SNAT to the public network, QoS — for both directions of the connection at once, answers
/// ARP and neighbour solicitations itself, and re-derives tracked connections after a policy change
/// (claim S4).
/// </summary>
/// <remarks>
/// A connection's NAT bindings and backend live in its conntrack reply tuple; re-deriving a known
/// connection reuses them, so a policy change that does not touch it keeps them. Called on the
/// datapath's thread (decisions, revalidation, lifecycle callbacks); <see cref="Apply"/> may come
/// from any thread and swaps the compiled policy atomically.
/// </remarks>
public sealed class PolicySlowPath : ISlowPath, IConnectionRevalidator, ISlowPathObserver
{
    private readonly PortRegistry _ports;
    private readonly Dictionary<(string Network, NetAddress PublicIp, PortRange Ports), SnatPortAllocator> _snat = new();
    private readonly Dictionary<(NetAddress Vip, ushort Port, byte Protocol, NetAddress Backend, ushort BackendPort), int> _lbActive = new();
    private readonly object _snatGate = new();
    private volatile CompiledPolicy _policy;

    /// <summary>Creates a slow path deciding by <paramref name="policy"/>.</summary>
    public PolicySlowPath(PolicySnapshot policy, PortRegistry? ports = null)
    {
        _ports = ports ?? new PortRegistry();
        _policy = new CompiledPolicy(policy, _ports);
    }

    /// <summary>The policy in force.</summary>
    public CompiledPolicy Policy => _policy;

    /// <summary>The port numbering.</summary>
    public PortRegistry Ports => _ports;

    /// <summary>Puts <paramref name="policy"/> in force for the next decision (revalidate the datapath afterwards).</summary>
    public CompiledPolicy Apply(PolicySnapshot policy)
    {
        var compiled = new CompiledPolicy(policy, _ports);
        _policy = compiled;
        return compiled;
    }

    /// <inheritdoc/>
    public ValueTask<SlowPathDecision> DecideAsync(SlowPathRequest request, CancellationToken cancellationToken) => new(Decide(request));

    /// <summary>Decides one packet.</summary>
    public SlowPathDecision Decide(SlowPathRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var policy = _policy;
        if (!request.Packet.IsIp || NeighborResponder.TryGetSolicitedTarget(request.Frame.Span.Slice(request.TunnelHeaderLength), request.Packet, out _))
            return Neighbor(policy, request);
        if (!request.Connection.IsNone && !request.Tracked.Id.IsNone)
        {
            // A known connection not (yet) in the fast path, or an ICMP error related to one: decide as for the connection.
            var d = Derive(policy, request.Tracked.Original, sticky: request.Tracked.Reply, allocate: false);
            if (d.Verdict == ActionVerdict.Drop)
                return SlowPathDecision.Drop(d.Reason);
            bool original = request.Direction == ConnDirection.Original;
            return new SlowPathDecision
            {
                Verdict = ActionVerdict.Output,
                Action = original ? d.Forward : d.Reply,
                ReplyKey = request.IsRelated ? null : original ? d.ReplyKey : request.Tracked.Original,
                ReplyAction = original ? d.Reply : d.Forward,
                Track = !request.IsRelated,
            };
        }
        if (request.Packet.IsIcmpError)
            return SlowPathDecision.Drop(DropReason.ConntrackInvalid); // an error about no connection we know
        var first = Derive(policy, request.Key, sticky: null, allocate: true);
        if (first.Verdict == ActionVerdict.Drop)
            return SlowPathDecision.Drop(first.Reason, installDropFlow: first.Reason is DropReason.Acl or DropReason.SecurityGroup or DropReason.NoRoute);
        return new SlowPathDecision
        {
            Verdict = ActionVerdict.Output,
            Action = first.Forward,
            ReplyKey = first.ReplyKey,
            ReplyAction = first.Reply,
        };
    }

    /// <inheritdoc/>
    public RevalidationDecision Revalidate(in ConnectionInfo connection, in FlowAction original, in FlowAction reply, object? provenance)
    {
        var d = Derive(_policy, connection.Original, sticky: connection.Reply, allocate: false);
        if (d.Verdict == ActionVerdict.Drop)
            return RevalidationDecision.Remove(d.Reason);
        if (d.ReplyKey is not { } replyKey || !replyKey.Equals(connection.Reply))
            return RevalidationDecision.Remove(DropReason.NoRoute); // its tuples would change: a new connection must be made
        return d.Forward.Equals(original) && d.Reply.Equals(reply)
            ? RevalidationDecision.Keep
            : RevalidationDecision.Update(d.Forward, d.Reply);
    }

    /// <inheritdoc/>
    public void OnConnectionRemoved(in ConnectionInfo connection) => Release(connection.Original, connection.Reply);

    /// <inheritdoc/>
    public void OnDecisionDiscarded(SlowPathRequest request, SlowPathDecision decision)
    {
        if (decision.ReplyKey is { } reply && request.Connection.IsNone)
            Release(request.Key, reply);
    }

    /// <summary>Live connections per load-balancer backend (for least-connections and for tests).</summary>
    public int ActiveConnections(NetAddress vip, ushort port, byte protocol, NetAddress backend, ushort backendPort) =>
        _lbActive.GetValueOrDefault((vip, port, protocol, backend, backendPort));

    // ---------------- derivation ----------------

    private struct Derivation
    {
        public ActionVerdict Verdict;
        public DropReason Reason;
        public FlowAction Forward;
        public FlowAction Reply;
        public FlowKey? ReplyKey;
    }

    private static Derivation Dropped(DropReason reason) => new() { Verdict = ActionVerdict.Drop, Reason = reason };

    // Decides a connection from its original tuple. `sticky` is the tracked reply tuple of a known
    // connection: its backend and SNAT binding are kept, never re-chosen.
    private Derivation Derive(CompiledPolicy policy, in FlowKey key, FlowKey? sticky, bool allocate)
    {
        if (key.InPort == PortRegistry.Uplink)
            return DeriveFromUplink(policy, key, sticky);

        var source = policy.LocalPort(key.InPort);
        if (source is null)
            return Dropped(DropReason.UnknownPort);
        if (!source.Owns(key.SrcIp))
            return Dropped(DropReason.SpoofedSource);
        var network = source.Network;
        if (policy.Acl.Classify(new Classification.AclQuery(Classification.AclDirection.Egress, network.Vni, key.SrcIp, key.DstIp, key.Protocol, key.SrcPort, key.DstPort)).Action == Classification.AclAction.Deny)
            return Dropped(DropReason.Acl);

        // Load balancer: DNAT to a backend (sticky for a known connection).
        var dst = key.DstIp;
        ushort dstPort = key.DstPort;
        var lb = policy.FindLoadBalancer(network, key.DstIp, key.DstPort, key.Protocol);
        if (lb is not null)
        {
            int index;
            if (sticky is { } s)
                index = lb.IndexOf(s.SrcIp, s.SrcPort);
            else
                index = SelectBackend(lb, key);
            if (index < 0)
                return Dropped(DropReason.NoBackend);
            dst = lb.Config.Backends[index].Ip;
            dstPort = lb.Config.Backends[index].Port;
            if (allocate)
                CountBackend(lb.Config.Vip, lb.Config.Port, lb.Config.Protocol, dst, dstPort, +1);
        }
        var forwardNat = lb is null ? default : new NatRewrite(NatKind.Destination, dst, dstPort);
        var replyNat = lb is null ? default : new NatRewrite(NatKind.Source, key.DstIp, key.DstPort);
        var translated = new FlowKey(key.SrcIp, key.SrcPort, dst, dstPort, key.Protocol, key.InPort, key.Vni);

        var target = policy.PortByIp(dst);
        if (target is not null)
        {
            if (!policy.CanReach(network, target.Network))
                return Dropped(DropReason.NoRoute); // tenant isolation: not this network, not peered
            if (target.IsLocal)
            {
                if (policy.Acl.Classify(new Classification.AclQuery(Classification.AclDirection.Ingress, target.Network.Vni, key.SrcIp, dst, key.Protocol, key.SrcPort, dstPort)).Action == Classification.AclAction.Deny)
                    return Dropped(DropReason.Acl);
                if (!CompiledPolicy.SecurityGroupAllows(target, key.SrcIp, key.Protocol, dstPort))
                    return Dropped(DropReason.SecurityGroup);
                return Forwarded(translated,
                    forward: new FlowAction(policy.Program(new ProgramSpec(false, policy.GatewayMac, target.Mac, lb is not null, source.MeterId, null, target.Number)), forwardNat),
                    replyInPort: target.Number, replyVni: target.Network.Vni,
                    reply: new FlowAction(policy.Program(new ProgramSpec(false, policy.GatewayMac, source.Mac, lb is not null, target.MeterId, null, source.Number)), replyNat));
            }
            // Another host: encapsulate with the destination network's tunnel type and VNI (C9); its
            // switch sends replies back in our source network's VNI.
            var tunnel = policy.TunnelTo(target.Host, target.Network);
            return Forwarded(translated,
                forward: new FlowAction(policy.Program(new ProgramSpec(false, policy.GatewayMac, target.Mac, lb is not null, source.MeterId, tunnel, PortRegistry.Uplink)), forwardNat),
                replyInPort: PortRegistry.Uplink, replyVni: network.Vni,
                reply: new FlowAction(policy.Program(new ProgramSpec(true, policy.GatewayMac, source.Mac, lb is not null, 0, null, source.Number)), replyNat));
        }
        if (policy.NetworkContaining(dst) is not null || policy.IsVip(dst))
            return Dropped(DropReason.NoRoute); // inside some network but nobody there (or a VIP this network may not use)

        // The public network: SNAT to the network's public address (C11) — never for broadcast,
        // multicast, loopback or link-local destinations, which have no business leaving the host.
        if (!IsRoutableUnicast(dst) || !policy.Snat.TryGetValue(network.Config.Name, out var snat))
            return Dropped(DropReason.NoRoute);
        ushort publicPort;
        if (sticky is { } st)
        {
            ushort bound = PublicPortOf(st);
            if (st.DstIp != snat.PublicIp || !snat.Ports.Contains(bound))
                return Dropped(DropReason.NoRoute);
            publicPort = bound;
        }
        else if (!allocate)
            return Dropped(DropReason.NoRoute);
        else if (!Allocator(snat).TryAllocate(key, out publicPort))
            return Dropped(DropReason.SnatExhausted);
        var natted = new FlowKey(snat.PublicIp, publicPort, key.DstIp, key.DstPort, key.Protocol, key.InPort, 0);
        return Forwarded(natted,
            forward: new FlowAction(policy.Program(new ProgramSpec(false, policy.HostUnderlay.Mac, policy.GatewayMac, true, source.MeterId, null, PortRegistry.Uplink)),
                new NatRewrite(NatKind.Source, snat.PublicIp, publicPort)),
            replyInPort: PortRegistry.Uplink, replyVni: 0,
            reply: new FlowAction(policy.Program(new ProgramSpec(false, policy.GatewayMac, source.Mac, true, 0, null, source.Number)),
                new NatRewrite(NatKind.Destination, key.SrcIp, key.SrcPort)));
    }

    // Receive direction (C12, C13): a tunnel frame from another host, keyed by its inner tuple and VNI.
    private static Derivation DeriveFromUplink(CompiledPolicy policy, in FlowKey key, FlowKey? sticky)
    {
        var network = policy.NetworkByVni(key.Vni);
        if (network is null)
            return Dropped(key.Vni == 0 ? DropReason.Unsolicited : DropReason.NoRoute); // public traffic belongs to SNAT replies only
        var target = policy.PortByIp(key.DstIp);
        if (target is null || !target.IsLocal || target.Network != network)
            return Dropped(DropReason.NoRoute);
        var sender = policy.PortByIp(key.SrcIp);
        if (sender is null || sender.IsLocal || !policy.CanReach(sender.Network, network))
            return Dropped(DropReason.NoRoute);
        if (policy.Acl.Classify(new Classification.AclQuery(Classification.AclDirection.Ingress, network.Vni, key.SrcIp, key.DstIp, key.Protocol, key.SrcPort, key.DstPort)).Action == Classification.AclAction.Deny)
            return Dropped(DropReason.Acl);
        if (!CompiledPolicy.SecurityGroupAllows(target, key.SrcIp, key.Protocol, key.DstPort))
            return Dropped(DropReason.SecurityGroup);
        var back = policy.TunnelTo(sender.Host, sender.Network);
        return Forwarded(key,
            forward: new FlowAction(policy.Program(new ProgramSpec(true, policy.GatewayMac, target.Mac, false, 0, null, target.Number))),
            replyInPort: target.Number, replyVni: network.Vni,
            reply: new FlowAction(policy.Program(new ProgramSpec(false, policy.GatewayMac, sender.Mac, false, target.MeterId, back, PortRegistry.Uplink))));
    }

    // The SNAT port a reply tuple is addressed to: the destination port, or for ICMP queries the
    // identifier, which a reply tuple carries in SrcPort (DstPort holds the reply type and code).
    private static ushort PublicPortOf(in FlowKey reply) =>
        reply.Protocol is IpProtocol.Icmp or IpProtocol.IcmpV6 ? reply.SrcPort : reply.DstPort;

    private static bool IsRoutableUnicast(NetAddress ip)
    {
        if (ip.IsV4)
        {
            uint v = ip.V4;
            byte first = (byte)(v >> 24);
            return first is not (0 or 127) && first < 224 && (v & 0xFFFF_0000) != 0xA9FE_0000; // 0/8, 127/8, 224/3, 169.254/16
        }
        byte top = (byte)(ip.Hi >> 56);
        bool linkLocal = (ip.Hi >> 54) == (0xFE80UL >> 6);
        bool loopbackOrUnspecified = ip.Hi == 0 && ip.Lo <= 1;
        return top != 0xFF && !linkLocal && !loopbackOrUnspecified;
    }

    private static Derivation Forwarded(in FlowKey translated, in FlowAction forward, ushort replyInPort, uint replyVni, in FlowAction reply)
    {
        FlowKey? replyKey = translated.TryInvert(replyInPort, replyVni, out var r) ? r : null;
        return new Derivation { Verdict = ActionVerdict.Output, Forward = forward, Reply = replyKey is null ? default : reply, ReplyKey = replyKey };
    }

    // ---------------- ARP / neighbour discovery (A1) ----------------

    private static SlowPathDecision Neighbor(CompiledPolicy policy, SlowPathRequest request)
    {
        var source = policy.LocalPort(request.InPort);
        if (source is null)
            return SlowPathDecision.Drop(request.InPort == PortRegistry.Uplink ? DropReason.Unsolicited : DropReason.UnknownPort);
        var frame = request.Frame.Span.Slice(request.TunnelHeaderLength);
        if (NeighborResponder.IsArpRequest(request.Packet))
        {
            var mac = AnswerFor(policy, source, request.Packet.ArpTargetIp);
            if (mac is null)
                return SlowPathDecision.Drop(DropReason.NoRoute);
            return new SlowPathDecision
            {
                Verdict = ActionVerdict.Output, Track = false,
                Response = NeighborResponder.BuildArpReply(frame, request.Packet, mac.Value), ResponsePort = request.InPort,
            };
        }
        if (NeighborResponder.TryGetSolicitedTarget(frame, request.Packet, out var target))
        {
            var mac = AnswerFor(policy, source, target);
            if (mac is null)
                return SlowPathDecision.Drop(DropReason.NoRoute);
            bool router = mac.Value == policy.GatewayMac;
            return new SlowPathDecision
            {
                Verdict = ActionVerdict.Output, Track = false,
                Response = NeighborResponder.BuildNeighborAdvertisement(frame, request.Packet, target, mac.Value, router), ResponsePort = request.InPort,
            };
        }
        // Gratuitous ARP, ARP replies, other EtherTypes: the switch knows every address from policy; nothing is flooded.
        return SlowPathDecision.Drop(request.Packet.L3 == L3Kind.Arp ? DropReason.Policy : DropReason.UnsupportedEtherType);
    }

    // The MAC the switch answers with: a peer's own MAC inside reachable networks; the gateway MAC for
    // everything else the VM may route to — off-network addresses, VIPs, and unused addresses of its
    // own network (its default gateway is one: the switch is every VM's router, C7). Nothing for its
    // own address (that would fake a duplicate) or for networks it may not reach.
    private static MacAddress? AnswerFor(CompiledPolicy policy, CompiledPort asker, NetAddress target)
    {
        if (asker.Owns(target))
            return null;
        var port = policy.PortByIp(target);
        if (port is not null)
            return policy.CanReach(asker.Network, port.Network) ? port.Mac : null;
        var network = policy.NetworkContaining(target);
        if (network is null || network == asker.Network || policy.IsVip(target))
            return policy.GatewayMac;
        return null;
    }

    // ---------------- SNAT ports and load-balancer counts ----------------

    private SnatPortAllocator Allocator(SnatConfig snat)
    {
        lock (_snatGate)
        {
            var key = (snat.Network, snat.PublicIp, snat.Ports);
            if (!_snat.TryGetValue(key, out var allocator))
                _snat[key] = allocator = new SnatPortAllocator(snat.PublicIp, snat.Ports.Lo, snat.Ports.Hi, FlowHash.ProcessSeed);
            return allocator;
        }
    }

    private int SelectBackend(CompiledLoadBalancer lb, in FlowKey key)
    {
        var backends = lb.Config.Backends;
        Span<int> active = backends.Length <= 64 ? stackalloc int[backends.Length] : new int[backends.Length];
        for (int i = 0; i < backends.Length; i++)
            active[i] = _lbActive.GetValueOrDefault((lb.Config.Vip, lb.Config.Port, lb.Config.Protocol, backends[i].Ip, backends[i].Port));
        return lb.Selector.Select(key, active);
    }

    private void CountBackend(NetAddress vip, ushort port, byte protocol, NetAddress backend, ushort backendPort, int delta)
    {
        var key = (vip, port, protocol, backend, backendPort);
        int n = _lbActive.GetValueOrDefault(key) + delta;
        if (n <= 0)
            _lbActive.Remove(key);
        else
            _lbActive[key] = n;
    }

    // Gives back what a connection held: its SNAT port, its share of a backend.
    private void Release(in FlowKey original, in FlowKey reply)
    {
        if (reply.InPort == PortRegistry.Uplink && reply.Vni == 0)
        {
            lock (_snatGate)
            {
                foreach (var (k, allocator) in _snat)
                {
                    if (k.PublicIp == reply.DstIp)
                        allocator.Release(original.Protocol, PublicPortOf(reply));
                }
            }
        }
        if (reply.SrcIp != original.DstIp || reply.SrcPort != original.DstPort)
            CountBackend(original.DstIp, original.DstPort, original.Protocol, reply.SrcIp, reply.SrcPort, -1);
    }
}
