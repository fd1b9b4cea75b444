using Offload.Datapath;
using Offload.Flows;
using Offload.Kernel.Conntrack;

namespace Offload.Kernel.Sync;

/// <summary>A restarted agent's import of the kernel's connections into its datapath.</summary>
public static class KernelConnectionImport
{
    /// <summary>
    /// Tracks and installs the connection of a kernel conntrack entry (from <see cref="CtnetlinkClient.Dump"/>) as the
    /// kernel left it: its state, its time left, and its SEEN_REPLY and ASSURED bits. Call on the datapath's thread.
    /// </summary>
    /// <param name="datapath">The datapath.</param>
    /// <param name="entry">The kernel's entry.</param>
    /// <param name="originalKey">The datapath's original 7-tuple for it (what <see cref="IKernelConnectionResolver"/> gives).</param>
    /// <param name="decision">The decision the slow path would make for its first packet (both directions).</param>
    public static ConnectionImportResult ImportKernelConnection(this Offload.Datapath.Datapath datapath, in KernelConntrackEntry entry,
        in FlowKey originalKey, SlowPathDecision decision)
    {
        ArgumentNullException.ThrowIfNull(datapath);
        return datapath.ImportConnection(originalKey, decision, entry.State, TimeSpan.FromSeconds(entry.TimeoutSeconds),
            seenReply: (entry.Status & ConntrackStatus.SeenReply) != 0, assured: (entry.Status & ConntrackStatus.Assured) != 0);
    }
}
