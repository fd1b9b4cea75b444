using Offload.Switching;

namespace Offload.Policy.Git;

/// <summary>
/// Applies policies to a <see cref="VirtualSwitch"/> with <see cref="VirtualSwitch.ApplyPolicy"/> (compile, swap,
/// revalidate every connection) on the calling thread. The switch is driven by one thread: use this target when
/// that thread is the one calling <see cref="GitPolicyTracker"/>, or wrap it in an adapter that posts the call there.
/// </summary>
public sealed class VirtualSwitchPolicyTarget(VirtualSwitch virtualSwitch) : IPolicyTarget
{
    private readonly VirtualSwitch _switch = virtualSwitch ?? throw new ArgumentNullException(nameof(virtualSwitch));

    /// <inheritdoc/>
    public PolicySnapshot? Current => _switch.Policy;

    /// <inheritdoc/>
    public ValueTask<PolicyApplyOutcome> ApplyAsync(PolicySnapshot policy, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(policy);
        cancellationToken.ThrowIfCancellationRequested();
        return new(PolicyApplyOutcome.Applied(_switch.ApplyPolicy(policy)));
    }
}
