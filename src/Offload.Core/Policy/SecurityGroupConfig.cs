using System.Collections.Immutable;

namespace Offload.Policy;

/// <summary>
/// A stateful security group (<c>securityGroups[]</c>, claim S1): outbound connections of its ports and their
/// replies are allowed; unsolicited inbound connections get <see cref="Inbound"/> unless an
/// <see cref="AllowInbound"/> rule matches.
/// </summary>
public sealed record SecurityGroupConfig
{
    /// <summary>Group name.</summary>
    public required string Name { get; init; }
    /// <summary>Names of the ports the group applies to.</summary>
    public required ImmutableArray<string> Ports { get; init; }
    /// <summary>Verdict for new inbound connections no rule allows. Default deny.</summary>
    public RuleAction Inbound { get; init; } = RuleAction.Deny;
    /// <summary>New inbound connections allowed despite a deny default.</summary>
    public ImmutableArray<SecurityGroupRuleConfig> AllowInbound { get; init; } = [];
}

/// <summary>An inbound allow rule of a security group. Unset fields match anything.</summary>
public sealed record SecurityGroupRuleConfig
{
    /// <summary>IP protocol number; <c>null</c> for any.</summary>
    public byte? Protocol { get; init; }
    /// <summary>Destination ports (TCP/UDP only); <c>null</c> for any.</summary>
    public PortSet? DstPorts { get; init; }
    /// <summary>Source prefix; <see cref="Prefix.None"/> for any.</summary>
    public Prefix Src { get; init; }
}
