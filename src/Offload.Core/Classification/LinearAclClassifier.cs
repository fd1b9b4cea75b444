namespace Offload.Classification;

/// <summary>
/// The reference ACL: rules sorted once by precedence, tested one after the other until the first match.
/// Kept deliberately plain — it defines the semantics <see cref="AclClassifier"/> must reproduce, and is
/// the baseline the benchmark compares to (a scan that stops early, not a strawman that always reads all).
/// </summary>
public sealed class LinearAclClassifier : IAclClassifier
{
    private readonly AclRule[] _rules;

    private LinearAclClassifier(AclRule[] rules, AclMode mode)
    {
        _rules = rules;
        Mode = mode;
    }

    /// <inheritdoc/>
    public AclMode Mode { get; }

    /// <inheritdoc/>
    public int RuleCount => _rules.Length;

    /// <summary>Builds the reference classifier; throws <see cref="ArgumentException"/> for an invalid rule.</summary>
    public static LinearAclClassifier Build(IReadOnlyList<AclRule> rules, AclMode mode)
    {
        ArgumentNullException.ThrowIfNull(rules);
        var copy = new AclRule[rules.Count];
        for (int i = 0; i < copy.Length; i++)
        {
            copy[i] = rules[i];
            copy[i].Validate(i);
        }
        Array.Sort(copy, static (a, b) => AclRule.Compare(a.Priority, a.Action, a.Id, b.Priority, b.Action, b.Id));
        return new LinearAclClassifier(copy, mode);
    }

    /// <inheritdoc/>
    public AclMatch Classify(in AclQuery query)
    {
        foreach (ref readonly AclRule rule in _rules.AsSpan())
        {
            if (rule.Matches(query))
                return new AclMatch(rule.Action, rule.Id);
        }
        return AclMatch.DefaultFor(Mode);
    }
}
