using Offload.Datapath;
using Offload.Switching;

namespace Offload.Policy.Git;

/// <summary>
/// Applies policies to a <see cref="VirtualSwitch"/> with <see cref="VirtualSwitch.ApplyPolicy"/> (compile, swap,
/// revalidate every connection). The switch is driven by one thread: without <c>dispatch</c> the change runs on
/// the calling thread, which must then be that thread; with it, <c>dispatch</c> runs the change there (for
/// example by queueing it to the loop that calls <see cref="VirtualSwitch.Process"/> and <see cref="VirtualSwitch.Poll"/>).
/// </summary>
public sealed class VirtualSwitchPolicyTarget : IPolicyTarget
{
    private readonly VirtualSwitch _switch;
    private readonly Func<Func<RevalidationResult>, CancellationToken, ValueTask<RevalidationResult>>? _dispatch;

    /// <summary>Creates the target; <paramref name="dispatch"/>, when given, runs each change on the switch's thread.</summary>
    public VirtualSwitchPolicyTarget(VirtualSwitch virtualSwitch,
        Func<Func<RevalidationResult>, CancellationToken, ValueTask<RevalidationResult>>? dispatch = null)
    {
        ArgumentNullException.ThrowIfNull(virtualSwitch);
        _switch = virtualSwitch;
        _dispatch = dispatch;
    }

    /// <inheritdoc/>
    public PolicySnapshot? Current => _switch.Policy;

    /// <inheritdoc/>
    public async ValueTask<PolicyApplyOutcome> ApplyAsync(PolicySnapshot policy, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(policy);
        cancellationToken.ThrowIfCancellationRequested();
        var result = _dispatch is null
            ? _switch.ApplyPolicy(policy)
            : await _dispatch(() => _switch.ApplyPolicy(policy), cancellationToken).ConfigureAwait(false);
        return PolicyApplyOutcome.Applied(result);
    }
}
