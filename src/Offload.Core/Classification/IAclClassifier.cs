namespace Offload.Classification;

/// <summary>An immutable, thread-safe ACL built once from a rule list; classifies packets without allocating.</summary>
public interface IAclClassifier
{
    /// <summary>The default applied when no rule matches.</summary>
    AclMode Mode { get; }

    /// <summary>The number of rules the classifier was built from.</summary>
    int RuleCount { get; }

    /// <summary>The highest-precedence matching rule's action and id, or the mode's default.</summary>
    AclMatch Classify(in AclQuery query);
}
