namespace Offload.Hosting;

/// <summary>Which slow path decides first packets.</summary>
public enum OffloadSlowPathKind
{
    /// <summary>The in-process policy slow path (<see cref="Switching.PolicySlowPath"/>).</summary>
    Policy,
    /// <summary>The Linux kernel (nftables + conntrack) through emulated NICs; needs a registered slow-path factory named "kernel".</summary>
    Kernel,
}
