using Offload.Flows;
using Offload.Kernel.Conntrack;

namespace Offload.Kernel.Sync;

/// <summary>
/// Maps a kernel conntrack entry to the datapath connection it stands for. The kernel's tuple is the datapath's 5-tuple;
/// what the kernel does not know — the switch's ingress port and the VNI — comes from whoever put the connection's first
/// packet into the kernel (the kernel slow path). Called on <see cref="KernelConntrackSync"/>'s thread: thread-safe.
/// </summary>
public interface IKernelConnectionResolver
{
    /// <summary>
    /// The datapath's original-direction 7-tuple for <paramref name="entry"/>; false when the entry is none of the
    /// datapath's (host traffic, another agent's, a connection never offloaded).
    /// </summary>
    bool TryResolveDatapathKey(in KernelConntrackEntry entry, out FlowKey originalKey);
}
