using Offload.Actions;
using Offload.Flows;

namespace Offload.Kernel.SlowPath;

/// <summary>
/// The fast-path flows of both directions of one kernel conntrack entry: the datapath keys (7-tuples with ingress port
/// and VNI) and the actions that reproduce what the kernel does to each direction's packets.
/// </summary>
/// <param name="OriginalKey">Key of the original direction as it reaches the switch.</param>
/// <param name="Original">Action of the original direction.</param>
/// <param name="ReplyKey">Key of the reply direction as it reaches the switch (after NAT).</param>
/// <param name="Reply">Action of the reply direction.</param>
/// <param name="OriginalOutPort">Datapath port the original direction leaves by (the uplink for a tunnel or the public network).</param>
public readonly record struct KernelConnectionFlows(FlowKey OriginalKey, FlowAction Original, FlowKey ReplyKey, FlowAction Reply, ushort OriginalOutPort);
