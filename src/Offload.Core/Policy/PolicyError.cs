namespace Offload.Policy;

/// <summary>
/// One problem with a policy, at a path in the document such as <c>loadBalancers[1].backends[0].ip</c>
/// (empty for the document as a whole).
/// </summary>
/// <param name="Path">Where: keys joined by '.', list items as [index].</param>
/// <param name="Message">What is wrong, in words for the person who wrote the policy.</param>
public sealed record PolicyError(string Path, string Message)
{
    /// <summary>1-based line of the node in the YAML text; 0 when unknown (a snapshot built in code).</summary>
    public int Line { get; init; }

    /// <summary>1-based column of the node in the YAML text; 0 when unknown.</summary>
    public int Column { get; init; }

    /// <summary>"path: message", or the message alone for the whole document.</summary>
    public override string ToString() => Path.Length == 0 ? Message : $"{Path}: {Message}";
}

/// <summary>The outcome of loading a policy: a valid snapshot, or every error found.</summary>
/// <param name="Snapshot">The policy when it is valid; <c>null</c> when <paramref name="Errors"/> is not empty.</param>
/// <param name="Errors">Every error, in the order of the paths in the document.</param>
public sealed record PolicyLoadResult(PolicySnapshot? Snapshot, IReadOnlyList<PolicyError> Errors)
{
    /// <summary>True when the policy loaded and validated clean.</summary>
    public bool Success => Snapshot is not null;
}
