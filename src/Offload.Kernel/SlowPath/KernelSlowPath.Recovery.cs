using Offload.Actions;
using Offload.Datapath;
using Offload.Flows;
using Offload.Kernel.Conntrack;
using Offload.Kernel.Namespaces;
using Offload.Policy;

namespace Offload.Kernel.SlowPath;

// Restart: the fast path of a new agent rebuilt from the kernel's conntrack table.
public sealed partial class KernelSlowPath
{
    /// <summary>
    /// The decisions (both directions) of every live kernel connection this host switches, derived from the kernel's
    /// conntrack dump and the topology alone — the same derivation a first packet gets — so a new agent can re-install
    /// its fast path. Entries of other zones, and those neither end of which is a local VM, are left out. The
    /// least-connections counts are rebuilt from the connections returned (call it once, on start).
    /// </summary>
    /// <exception cref="Netlink.NetlinkException">The kernel refused the dump.</exception>
    public IReadOnlyList<KernelRecoveredConnection> RecoverConnections()
    {
        List<KernelConntrackEntry> entries = NetworkNamespace.RunIn(_topology.Namespace, () =>
        {
            using CtnetlinkClient ct = CtnetlinkClient.Open(TimeSpan.FromSeconds(2));
            return ct.Dump();
        });
        var recovered = new List<KernelRecoveredConnection>();
        foreach (KernelConntrackEntry entry in entries)
        {
            if (entry.Zone != 0 || !TryBuildFlows(entry, out KernelConnectionFlows flows))
                continue;
            recovered.Add(new KernelRecoveredConnection(flows.OriginalKey, Decision(entry, flows), entry));
            CountRecovered(entry);
        }
        return recovered;
    }

    /// <summary>
    /// The datapath's key of <paramref name="entry"/>'s original direction: its 7-tuple with the ingress port and VNI
    /// the packets carry when they reach the switch (a local VM's port and network, or the uplink with the tunnel's VNI).
    /// False when neither end is a local VM or the connection came from the public network.
    /// </summary>
    public bool TryResolveDatapathKey(in KernelConntrackEntry entry, out FlowKey originalKey) =>
        _state.Builder.TryResolveKey(entry.Original, entry.Reply, out originalKey);

    /// <summary>
    /// The fast-path flows of both directions of <paramref name="entry"/>, from its tuples and the topology (what the
    /// adapter learns for a first packet, and what <see cref="RecoverConnections"/> returns). False when the entry is not
    /// one of this host's connections or its NAT cannot be expressed as one rewrite per direction.
    /// </summary>
    public bool TryBuildFlows(in KernelConntrackEntry entry, out KernelConnectionFlows flows) =>
        _state.Builder.TryBuild(entry.Original, entry.Reply, out flows);

    private static SlowPathDecision Decision(in KernelConntrackEntry entry, in KernelConnectionFlows flows) => new()
    {
        Verdict = ActionVerdict.Output,
        Action = flows.Original,
        ReplyKey = flows.ReplyKey,
        ReplyAction = flows.Reply,
        Provenance = new KernelProvenance { ConntrackId = entry.Id, Original = entry.Original, Reply = entry.Reply },
    };

    private void CountRecovered(in KernelConntrackEntry entry)
    {
        if (entry.Reply.Source == entry.Original.Destination)
            return;
        foreach (LoadBalancerConfig lb in _state.Builder.Policy.Snapshot.LoadBalancers)
        {
            if (lb.Vip == entry.Original.Destination && lb.Port == entry.Original.DestinationPort && lb.Protocol == entry.Original.Protocol)
            {
                lock (_lbGate)
                    Count(lb, entry.Reply.Source, entry.Reply.SourcePort, +1);
                return;
            }
        }
    }
}
