using Offload.Packets;

namespace Offload.Kernel.SlowPath;

/// <summary>
/// A host route of <see cref="KernelHostTopology"/>: <see cref="Address"/>/32 (or /128) out of <see cref="Device"/>,
/// with a permanent neighbour entry <see cref="Address"/> → <see cref="Mac"/> so the kernel never resolves (ARP/ND)
/// towards a VM. Reconciliation compares whole values: a port that moves or changes MAC is one route removed and one added.
/// </summary>
internal readonly record struct HostRoute(string Device, NetAddress Address, MacAddress Mac)
{
    public int PrefixLength => Address.IsV4 ? 32 : 128;
}
