namespace Offload.Policy;

/// <summary>
/// Holds the running policy. A new policy is validated whole and swapped in atomically only when valid;
/// otherwise the running policy stays in force. Readers take <see cref="Current"/> once and use that snapshot
/// for a whole decision, so they never see half of a change. Thread-safe: reads are lock-free, changes are
/// serialised so generations and <see cref="Changed"/> events come in order.
/// </summary>
public sealed class PolicyStore
{
    private readonly Lock _writeLock = new();
    private PolicySnapshot? _current;
    private long _generation;

    /// <summary>The running policy; <c>null</c> until a policy has been applied.</summary>
    public PolicySnapshot? Current => Volatile.Read(ref _current);

    /// <summary>
    /// Raised after each swap, on the applying thread, while further changes wait: handlers see changes one at a
    /// time and in generation order. Not raised when a rejected or identical policy is applied.
    /// </summary>
    public event EventHandler<PolicyChangedEventArgs>? Changed;

    /// <summary>Loads <paramref name="yaml"/> and applies it when valid (see <see cref="TryApply(PolicySnapshot, out IReadOnlyList{PolicyError})"/>).</summary>
    public bool TryApply(string yaml, out IReadOnlyList<PolicyError> errors)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        var result = PolicyLoader.Load(yaml);
        if (result.Snapshot is null)
        {
            errors = result.Errors;
            return false;
        }
        return TryApply(result.Snapshot, out errors);
    }

    /// <summary>
    /// Validates <paramref name="snapshot"/> and, when valid, makes it the running policy with the next
    /// <see cref="PolicySnapshot.Generation"/> (its own generation is ignored). A policy equal in content to the
    /// running one is accepted without a new generation or event. Returns false with every error otherwise.
    /// </summary>
    public bool TryApply(PolicySnapshot snapshot, out IReadOnlyList<PolicyError> errors)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        errors = PolicyValidator.Validate(snapshot);
        if (errors.Count > 0)
            return false;
        lock (_writeLock)
        {
            var old = _current;
            if (old is not null && old.Equals(snapshot))
                return true;
            var next = snapshot with { Generation = ++_generation };
            Volatile.Write(ref _current, next);
            Changed?.Invoke(this, new PolicyChangedEventArgs(old, next));
        }
        return true;
    }
}
