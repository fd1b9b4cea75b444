namespace Offload.Policy.Git;

/// <summary>Applies policies to a <see cref="PolicyStore"/> (validated and swapped atomically; no flows to revalidate).</summary>
public sealed class PolicyStorePolicyTarget(PolicyStore store) : IPolicyTarget
{
    private readonly PolicyStore _store = store ?? throw new ArgumentNullException(nameof(store));

    /// <inheritdoc/>
    public PolicySnapshot? Current => _store.Current;

    /// <inheritdoc/>
    public ValueTask<PolicyApplyOutcome> ApplyAsync(PolicySnapshot policy, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(policy);
        cancellationToken.ThrowIfCancellationRequested();
        return new(_store.TryApply(policy, out var errors) ? PolicyApplyOutcome.Applied(null) : PolicyApplyOutcome.Refused(errors));
    }
}
