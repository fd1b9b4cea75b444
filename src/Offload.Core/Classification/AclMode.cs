namespace Offload.Classification;

/// <summary>What happens to a packet no rule matches.</summary>
public enum AclMode : byte
{
    /// <summary>Default allow: rules list what is denied (and exceptions to it).</summary>
    DenyList = 0,
    /// <summary>Default deny: rules list what is allowed (and exceptions to it).</summary>
    AllowList = 1,
}
