using Offload.Packets;

namespace Offload.Kernel.Rtnetlink;

/// <summary>One network interface as rtnetlink reports it.</summary>
/// <param name="Index">The interface index.</param>
/// <param name="Name">The interface name.</param>
/// <param name="Mac">The hardware address (zero for devices without one, such as loopback's all-zero).</param>
/// <param name="Mtu">The MTU.</param>
/// <param name="Flags">IFF_* flags (IFF_UP = 1, IFF_LOWER_UP = 0x10000, ...).</param>
/// <param name="MasterIndex">The index of the bridge (or other master) the interface is enslaved to, 0 if none.</param>
/// <param name="Kind">The link kind (veth, bridge, vxlan, tun, ...), null for physical and loopback devices.</param>
/// <param name="Alias">The ifalias, null if unset.</param>
public sealed record LinkInfo(int Index, string Name, MacAddress Mac, int Mtu, uint Flags, int MasterIndex, string? Kind, string? Alias)
{
    /// <summary>Whether the interface is administratively up (IFF_UP).</summary>
    public bool IsUp => (Flags & RtnetlinkConstants.InterfaceUp) != 0;

    /// <summary>
    /// The operational state. A link set up a moment ago reports <see cref="LinkOperState.Unknown"/> (and IFF_RUNNING)
    /// until the kernel's link watch activates it, and drops the frames sent to it meanwhile; wait for
    /// <see cref="LinkOperState.Up"/> before sending.
    /// </summary>
    public LinkOperState OperState { get; init; }
}
