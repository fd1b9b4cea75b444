using Offload.Datapath;
using Offload.Flows;
using Offload.Kernel.Nftables;
using Offload.Packets;
using Offload.Policy;
using Offload.Switching;

namespace Offload.Kernel.SlowPath;

// Backends nftables cannot choose (least-connections, Maglev): chosen here, pinned in the kernel's per-connection maps.
public sealed partial class KernelSlowPath
{
    private readonly Dictionary<(NetAddress Vip, ushort Port, byte Protocol, NetAddress Backend, ushort BackendPort), int> _lbActive = new();
    private readonly object _lbGate = new();

    /// <summary>Live connections per load-balancer backend this adapter chose or recovered (least-connections' counts).</summary>
    public int ActiveConnections(NetAddress vip, ushort port, byte protocol, NetAddress backend, ushort backendPort)
    {
        lock (_lbGate)
            return _lbActive.GetValueOrDefault((vip, port, protocol, backend, backendPort));
    }

    private KernelBackendPin? ChooseBackend(State state, SlowPathRequest request)
    {
        CompiledPolicy policy = state.Builder.Policy;
        CompiledPort? source = policy.LocalPort(request.InPort);
        FlowKey key = request.Key;
        if (source is null)
            return null;
        CompiledLoadBalancer? lb = policy.FindLoadBalancer(source.Network, key.DstIp, key.DstPort, key.Protocol);
        if (lb is null || lb.Config.Algorithm == LoadBalancingAlgorithm.Random)
            return null; // none, or the kernel's own numgen
        var backends = lb.Config.Backends;
        int index;
        lock (_lbGate)
        {
            Span<int> active = backends.Length <= 64 ? stackalloc int[backends.Length] : new int[backends.Length];
            for (int i = 0; i < backends.Length; i++)
                active[i] = _lbActive.GetValueOrDefault((lb.Config.Vip, lb.Config.Port, lb.Config.Protocol, backends[i].Ip, backends[i].Port));
            index = lb.Selector.Select(key, active);
            if (index < 0)
                return null; // nothing usable: the kernel's fallback decides (or drops)
            Count(lb.Config, backends[index].Ip, backends[index].Port, +1);
        }
        return new KernelBackendPin(lb, index);
    }

    // On the adapter's thread, before the first packet goes in. A refused pin leaves the kernel's random fallback to
    // choose; the connection still works, its backend is whatever conntrack then says.
    private void PinBackend(KernelPendingDecision pending, KernelBackendPin pin)
    {
        string command = NftablesRulesetGenerator.PinBackendCommand(_topology.Topology, pin.LoadBalancer.Config, pending.Tuple.Source,
            pending.Tuple.SourcePort, pin.Backend, _options.PinTimeout);
        try
        {
            Nft.Run(command);
        }
        catch (NftablesException)
        {
            Interlocked.Increment(ref _errors);
        }
    }

    // The request will not become a connection (dropped, timed out, not offloaded): give back its backend share and pin.
    private void ReleasePin(KernelPendingDecision pending)
    {
        if (pending.Pin is not { } pin)
            return;
        lock (_lbGate)
            Count(pin.LoadBalancer.Config, pin.Backend.Ip, pin.Backend.Port, -1);
        _unpins.Enqueue(new KernelUnpin(pin.LoadBalancer.Config, pending.Tuple.Source, pending.Tuple.SourcePort));
        _wake.Set();
    }

    // A connection ended: if a VIP's DNAT made it (the reply comes from a backend, not from the address dialled),
    // its least-connections share and its pin go.
    private void Release(in FlowKey original, in FlowKey reply)
    {
        if (reply.SrcIp == original.DstIp && reply.SrcPort == original.DstPort)
            return;
        foreach (LoadBalancerConfig lb in _state.Builder.Policy.Snapshot.LoadBalancers)
        {
            if (lb.Vip != original.DstIp || lb.Port != original.DstPort || lb.Protocol != original.Protocol || lb.Algorithm == LoadBalancingAlgorithm.Random)
                continue;
            lock (_lbGate)
                Count(lb, reply.SrcIp, reply.SrcPort, -1);
            _unpins.Enqueue(new KernelUnpin(lb, original.SrcIp, original.SrcPort));
            _wake.Set();
            return;
        }
    }

    private void Count(LoadBalancerConfig lb, NetAddress backend, ushort backendPort, int delta)
    {
        var key = (lb.Vip, lb.Port, lb.Protocol, backend, backendPort);
        int n = _lbActive.GetValueOrDefault(key) + delta;
        if (n <= 0)
            _lbActive.Remove(key);
        else
            _lbActive[key] = n;
    }

    private void Unpin()
    {
        while (_unpins.TryDequeue(out KernelUnpin? unpin))
        {
            try
            {
                Nft.Run(NftablesRulesetGenerator.UnpinBackendCommand(_topology.Topology, unpin.LoadBalancer, unpin.Client, unpin.ClientPort));
            }
            catch (NftablesException)
            {
                // already expired: what we want
            }
        }
    }
}

/// <summary>A pin to delete from a load balancer's kernel maps.</summary>
internal sealed record KernelUnpin(LoadBalancerConfig LoadBalancer, NetAddress Client, ushort ClientPort);
