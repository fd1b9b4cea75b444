using Offload.Hosting;
using Offload.Policy;
using Offload.Policy.Git;

namespace Offload.Cli.Agent;

/// <summary>Puts a tracked commit's policy in force in the hosted runtime, which serialises it with frames and polls.</summary>
internal sealed class RuntimePolicyTarget(OffloadRuntime runtime) : IPolicyTarget
{
    public PolicySnapshot? Current => runtime.IsRunning ? runtime.Policy : null;

    public ValueTask<PolicyApplyOutcome> ApplyAsync(PolicySnapshot policy, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(PolicyApplyOutcome.Applied(runtime.ApplyPolicy(policy)));
    }
}
