using Offload.Classification;
using System.Collections.Frozen;
using Offload.Actions;
using Offload.Datapath;
using Offload.Packets;

namespace Offload.Policy;

/// <summary>The policy's words for enumerated values, in one place for the loader, the canonical form and the
/// schema test.</summary>
internal static class PolicyNames
{
    internal static readonly FrozenDictionary<string, AclMode> AclModes =
        Map(("deny-list", AclMode.DenyList), ("allow-list", AclMode.AllowList));

    internal static readonly FrozenDictionary<string, RuleAction> Actions =
        Map(("allow", RuleAction.Allow), ("deny", RuleAction.Deny));

    internal static readonly FrozenDictionary<string, TrafficDirection> Directions =
        Map(("ingress", TrafficDirection.Ingress), ("egress", TrafficDirection.Egress), ("both", TrafficDirection.Both));

    internal static readonly FrozenDictionary<string, LoadBalancingAlgorithm> Algorithms =
        Map(("random", LoadBalancingAlgorithm.Random), ("least-connections", LoadBalancingAlgorithm.LeastConnections),
            ("maglev", LoadBalancingAlgorithm.Maglev));

    internal static readonly FrozenDictionary<string, TunnelType> Tunnels =
        Map(("vxlan", TunnelType.Vxlan), ("gre", TunnelType.Gre));

    internal static readonly FrozenDictionary<string, OffloadTrigger> Triggers =
        Map(("first-packet", OffloadTrigger.FirstPacket), ("established", OffloadTrigger.Established));

    /// <summary>Protocol names; "any" maps to null (no protocol match).</summary>
    internal static readonly FrozenDictionary<string, byte?> Protocols =
        Map<byte?>(("any", null), ("tcp", IpProtocol.Tcp), ("udp", IpProtocol.Udp), ("icmp", IpProtocol.Icmp),
            ("icmpv6", IpProtocol.IcmpV6));

    internal static string Name<T>(T value) where T : struct, Enum
    {
        var table = typeof(T) == typeof(AclMode) ? (IEnumerable<KeyValuePair<string, T>>)AclModes
            : typeof(T) == typeof(RuleAction) ? (IEnumerable<KeyValuePair<string, T>>)Actions
            : typeof(T) == typeof(TrafficDirection) ? (IEnumerable<KeyValuePair<string, T>>)Directions
            : typeof(T) == typeof(LoadBalancingAlgorithm) ? (IEnumerable<KeyValuePair<string, T>>)Algorithms
            : typeof(T) == typeof(TunnelType) ? (IEnumerable<KeyValuePair<string, T>>)Tunnels
            : (IEnumerable<KeyValuePair<string, T>>)Triggers;
        foreach (var (name, v) in table)
        {
            if (EqualityComparer<T>.Default.Equals(v, value))
                return name;
        }
        return value.ToString();
    }

    private static FrozenDictionary<string, T> Map<T>(params (string Name, T Value)[] items) =>
        items.ToFrozenDictionary(i => i.Name, i => i.Value, StringComparer.Ordinal);
}
