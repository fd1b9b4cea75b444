namespace Offload.Policy;

/// <summary>A change of the running policy.</summary>
/// <param name="previous">The policy replaced; <c>null</c> for the first one.</param>
/// <param name="current">The policy now in force.</param>
public sealed class PolicyChangedEventArgs(PolicySnapshot? previous, PolicySnapshot current) : EventArgs
{
    /// <summary>The policy replaced; <c>null</c> for the first one.</summary>
    public PolicySnapshot? Previous { get; } = previous;

    /// <summary>The policy now in force.</summary>
    public PolicySnapshot Current { get; } = current;
}
