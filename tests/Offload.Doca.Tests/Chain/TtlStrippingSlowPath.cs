using Offload.Actions;
using Offload.Conntrack;
using Offload.Datapath;
using Offload.Kernel.SlowPath;

namespace Offload.Doca.Tests.Chain;

/// <summary>
/// The kernel slow path with DecrementTtl taken out of its forwarding programs (MAC rewrites + output), because the
/// DOCA backend cannot apply it yet; any other program shape is passed through unchanged.
/// </summary>
internal sealed class TtlStrippingSlowPath(KernelSlowPath inner) : ISlowPath, ISlowPathObserver
{
    public async ValueTask<SlowPathDecision> DecideAsync(SlowPathRequest request, CancellationToken cancellationToken)
    {
        SlowPathDecision d = await inner.DecideAsync(request, cancellationToken).ConfigureAwait(false);
        return new SlowPathDecision
        {
            Verdict = d.Verdict, Reason = d.Reason, Action = Strip(d.Action), ReplyKey = d.ReplyKey, ReplyAction = Strip(d.ReplyAction),
            Track = d.Track, InstallDropFlow = d.InstallDropFlow, Response = d.Response, ResponsePort = d.ResponsePort, Provenance = d.Provenance,
        };
    }

    public void OnConnectionRemoved(in ConnectionInfo connection) => inner.OnConnectionRemoved(connection);

    public void OnDecisionDiscarded(SlowPathRequest request, SlowPathDecision decision) => inner.OnDecisionDiscarded(request, decision);

    private static FlowAction Strip(FlowAction action)
    {
        if (action.Program is null || action.Program.Verdict != ActionVerdict.Output)
            return action;
        ActionProgramBuilder b = ActionProgram.CreateBuilder();
        foreach (HeaderOp op in action.Program.Ops)
        {
            if (op.Kind == HeaderOpKind.SetSourceMac)
                b.SetSourceMac(op.Mac);
            else if (op.Kind == HeaderOpKind.SetDestinationMac)
                b.SetDestinationMac(op.Mac);
            else if (op.Kind != HeaderOpKind.DecrementTtl)
                return action;
        }
        return new FlowAction(b.Output(action.Program.OutPort).Build(), action.Nat);
    }
}
