using Offload.Datapath;

namespace Offload.Policy.Git;

/// <summary>
/// Where <see cref="GitPolicyTracker"/> puts a policy in force: a <see cref="Switching.VirtualSwitch"/>, a
/// <see cref="PolicyStore"/>, or a host's own adapter (one that runs the change on the thread driving the switch).
/// </summary>
public interface IPolicyTarget
{
    /// <summary>The policy in force; <c>null</c> before the first one.</summary>
    PolicySnapshot? Current { get; }

    /// <summary>
    /// Puts <paramref name="policy"/> (already validated) in force atomically and revalidates what it affects.
    /// On failure the policy in force must be unchanged.
    /// </summary>
    ValueTask<PolicyApplyOutcome> ApplyAsync(PolicySnapshot policy, CancellationToken cancellationToken);
}

/// <summary>The outcome of <see cref="IPolicyTarget.ApplyAsync"/>.</summary>
/// <param name="Errors">Why the policy was refused; empty when it is in force.</param>
/// <param name="Revalidation">What revalidating the live flows did, when the target has flows.</param>
public sealed record PolicyApplyOutcome(IReadOnlyList<PolicyError> Errors, RevalidationResult? Revalidation)
{
    /// <summary>True when the policy is in force.</summary>
    public bool Success => Errors.Count == 0;

    /// <summary>In force, with what revalidation did.</summary>
    public static PolicyApplyOutcome Applied(RevalidationResult? revalidation) => new([], revalidation);

    /// <summary>Refused.</summary>
    public static PolicyApplyOutcome Refused(IReadOnlyList<PolicyError> errors) => new(errors, null);
}
