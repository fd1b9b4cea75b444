namespace Offload.Classification;

/// <summary>What an ACL rule (or the mode's default) does with a matching packet.</summary>
public enum AclAction : byte
{
    /// <summary>Let the packet continue through the pipeline.</summary>
    Allow = 0,
    /// <summary>Drop the packet, counted as <see cref="DropReason.Acl"/>.</summary>
    Deny = 1,
}
