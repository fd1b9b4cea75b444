using Offload.Packets;

namespace Offload.Kernel.Rtnetlink;

/// <summary>Parameters of a VXLAN device.</summary>
/// <param name="Vni">The 24-bit VXLAN network identifier.</param>
public sealed record VxlanOptions(uint Vni)
{
    /// <summary>The local (source) underlay address, <see cref="NetAddress.None"/> to let routing choose.</summary>
    public NetAddress Local { get; init; }

    /// <summary>The remote underlay address (unicast peer) or multicast group; <see cref="NetAddress.None"/> for none (FDB-driven).</summary>
    public NetAddress Remote { get; init; }

    /// <summary>The UDP destination port (IANA 4789 by default; Linux's own default is 8472).</summary>
    public ushort Port { get; init; } = 4789;

    /// <summary>The underlay device index, 0 for none.</summary>
    public int UnderlayIndex { get; init; }

    /// <summary>Whether the device learns remote MACs from received frames.</summary>
    public bool Learning { get; init; }
}
