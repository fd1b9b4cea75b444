using Offload.Conntrack;
using Offload.Datapath;
using Offload.Flows;
using Offload.Kernel.Conntrack;

namespace Offload.Kernel.SlowPath;

/// <summary>
/// A live kernel connection a restarted agent can put back into its fast path: the datapath key of its original
/// direction, the decision for both directions (as a first packet would have got it) and the kernel's entry with its
/// state and remaining timeout.
/// </summary>
/// <param name="OriginalKey">The original direction's datapath key (ingress port and VNI included).</param>
/// <param name="Decision">Both directions' actions and the reply key.</param>
/// <param name="Entry">The kernel's conntrack entry.</param>
public sealed record KernelRecoveredConnection(FlowKey OriginalKey, SlowPathDecision Decision, KernelConntrackEntry Entry)
{
    /// <summary>The connection's state as the kernel has it.</summary>
    public ConnState State => Entry.State;

    /// <summary>Time left before the kernel expires the entry.</summary>
    public TimeSpan Timeout => TimeSpan.FromSeconds(Entry.TimeoutSeconds);
}
