using Offload.Kernel.SlowPath;
using Offload.Kernel.Sync;

namespace Offload.Kernel.Hosting;

/// <summary>Options of the kernel slow path the hosted switch creates (<see cref="KernelOffloadBuilderExtensions.AddKernelSlowPath"/>).</summary>
public sealed class KernelHostingOptions
{
    /// <summary>The named network namespace (<c>ip netns</c>) the emulated NICs, routes and ruleset live in; null: the
    /// agent's own namespace.</summary>
    public string? Namespace { get; set; }

    /// <summary>Owner tag of the devices the agent creates (their ifalias <c>offload:&lt;owner&gt;</c>); devices left by a
    /// crashed agent with the same owner are swept at start.</summary>
    public string Owner { get; set; } = "offload";

    /// <summary>The adapter's settings (decision timeout, poll interval…).</summary>
    public KernelSlowPathOptions SlowPath { get; set; } = new();

    /// <summary>The conntrack sync's settings (event buffer, timeout refresh rate, resync interval…).</summary>
    public KernelConntrackSyncOptions Sync { get; set; } = new();

    /// <summary>Re-install the fast path of the connections the kernel already tracks when the switch starts (a restarted
    /// agent keeps live connections working).</summary>
    public bool RecoverConnections { get; set; } = true;
}
