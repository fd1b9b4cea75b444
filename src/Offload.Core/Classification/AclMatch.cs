namespace Offload.Classification;

/// <summary>
/// The result of classifying one packet: the action and the rule that decided it (<see cref="RuleId"/>
/// is the rule's <see cref="AclRule.Id"/>, or −1 when the mode's default decided), so that drops are
/// counted with their reason and flows remember which rule to revalidate against.
/// </summary>
public readonly struct AclMatch : IEquatable<AclMatch>
{
    /// <summary>Creates a result.</summary>
    public AclMatch(AclAction action, int ruleId)
    {
        Action = action;
        RuleId = ruleId;
    }

    /// <summary>Allow or deny.</summary>
    public AclAction Action { get; }

    /// <summary>The deciding rule's id, or −1 for the default of the mode.</summary>
    public int RuleId { get; }

    /// <summary>True when no rule matched and the mode's default decided.</summary>
    public bool IsDefault => RuleId < 0;

    /// <summary>The default result of a mode: allow for deny-list, deny for allow-list.</summary>
    public static AclMatch DefaultFor(AclMode mode) =>
        new(mode == AclMode.AllowList ? AclAction.Deny : AclAction.Allow, -1);

    /// <inheritdoc/>
    public bool Equals(AclMatch other) => Action == other.Action && RuleId == other.RuleId;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is AclMatch other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Action, RuleId);

    /// <summary>Equality.</summary>
    public static bool operator ==(AclMatch left, AclMatch right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(AclMatch left, AclMatch right) => !left.Equals(right);

    /// <inheritdoc/>
    public override string ToString() => IsDefault ? $"{Action} (default)" : $"{Action} (rule {RuleId})";
}
