using Offload.Classification;
using System.Collections.Immutable;

namespace Offload.Policy;

/// <summary>
/// The access-control list (<c>acl:</c>). The matching rule with the highest <see cref="AclRuleConfig.Priority"/>
/// decides; between matching rules of equal priority, deny wins. Two rules of equal priority, with different
/// actions, whose matches can overlap in the same direction and network are rejected by validation, so the
/// tie-break only ever decides between rules that agree.
/// </summary>
public sealed record AclConfig
{
    /// <summary>An empty deny-list ACL: everything is allowed.</summary>
    public static AclConfig Empty { get; } = new();

    /// <summary>What happens to traffic no rule matches. Default <see cref="AclMode.DenyList"/>.</summary>
    public AclMode Mode { get; init; } = AclMode.DenyList;

    /// <summary>The rules, in document order.</summary>
    public ImmutableArray<AclRuleConfig> Rules { get; init; } = [];
}

/// <summary>One ACL rule. Unset match fields match anything.</summary>
public sealed record AclRuleConfig
{
    /// <summary>0 or more; a higher priority wins.</summary>
    public required int Priority { get; init; }
    /// <summary>What a match does.</summary>
    public required RuleAction Action { get; init; }
    /// <summary>Direction seen from the VM. Default both.</summary>
    public TrafficDirection Direction { get; init; } = TrafficDirection.Both;
    /// <summary>Only traffic of this network; <c>null</c> for all networks.</summary>
    public string? Network { get; init; }
    /// <summary>Source prefix; <see cref="Prefix.None"/> for any.</summary>
    public Prefix Src { get; init; }
    /// <summary>Destination prefix; <see cref="Prefix.None"/> for any.</summary>
    public Prefix Dst { get; init; }
    /// <summary>IP protocol number (see <see cref="Packets.IpProtocol"/>); <c>null</c> for any.</summary>
    public byte? Protocol { get; init; }
    /// <summary>Source ports (TCP/UDP only); <c>null</c> for any.</summary>
    public PortSet? SrcPorts { get; init; }
    /// <summary>Destination ports (TCP/UDP only); <c>null</c> for any.</summary>
    public PortSet? DstPorts { get; init; }
}
