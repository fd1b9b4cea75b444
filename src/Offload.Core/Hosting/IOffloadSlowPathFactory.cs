using Offload.Datapath;
using Offload.Policy;

namespace Offload.Hosting;

/// <summary>
/// Creates a slow path other than the in-process policy slow path — the Linux kernel one (Offload.Kernel), registered
/// through <see cref="OffloadBuilderExtensions.AddSlowPathFactory{TFactory}"/> and selected by
/// <see cref="OffloadOptions.SlowPath"/>; looked up by <see cref="Name"/> (case-insensitive).
/// </summary>
public interface IOffloadSlowPathFactory
{
    /// <summary>The slow path's name, as in <see cref="OffloadSlowPathKind"/> ("kernel").</summary>
    string Name { get; }

    /// <summary>Why the slow path cannot run on this host (not Linux, not root, nftables missing), or null when it can.
    /// Must not throw.</summary>
    string? NotSupportedReason { get; }

    /// <summary>Creates the slow path for the context's policy; the runtime declares the policy's local ports and the
    /// uplink on the datapath with the context's port numbers. When the result is <see cref="IDisposable"/> or
    /// <see cref="IAsyncDisposable"/> the runtime disposes it on stop.</summary>
    ISlowPath Create(OffloadComponentContext context);

    /// <summary>Adjusts the datapath's options before the runtime creates it (the kernel slow path punts TCP FIN/RST so
    /// the kernel's state machine sees the close). The default changes nothing.</summary>
    void ConfigureDatapath(DatapathOptions options)
    {
    }

    /// <summary>Told once the runtime has created the datapath over <paramref name="slowPath"/> and declared its ports,
    /// before the first frame: for what must follow the datapath (state sync, connections to re-install). The default
    /// does nothing.</summary>
    void DatapathCreated(ISlowPath slowPath, Datapath.Datapath datapath)
    {
    }

    /// <summary>Puts a new policy in force in <paramref name="slowPath"/> before the runtime revalidates tracked
    /// connections (when the slow path is an <see cref="IConnectionRevalidator"/>). The default does nothing.</summary>
    void ApplyPolicy(ISlowPath slowPath, PolicySnapshot policy)
    {
    }
}
