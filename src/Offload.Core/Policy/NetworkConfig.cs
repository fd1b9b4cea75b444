using Offload.Actions;

namespace Offload.Policy;

/// <summary>A virtual network (<c>networks[]</c>).</summary>
public sealed record NetworkConfig
{
    /// <summary>Network name.</summary>
    public required string Name { get; init; }
    /// <summary>VXLAN VNI / GRE key, 1 … 16,777,215, unique across networks.</summary>
    public required int Vni { get; init; }
    /// <summary>The network's prefix (IPv4 or IPv6); no two networks overlap.</summary>
    public required Prefix Cidr { get; init; }
    /// <summary>Optional second, IPv6 prefix of a dual-stack network whose <see cref="Cidr"/> is IPv4
    /// (<c>cidr6:</c>); <see cref="Prefix.None"/> when unset.</summary>
    public Prefix Cidr6 { get; init; }
    /// <summary>Encapsulation towards other hosts. Default VXLAN.</summary>
    public TunnelType Tunnel { get; init; } = TunnelType.Vxlan;

    /// <summary>True when <paramref name="address"/> is inside <see cref="Cidr"/> or <see cref="Cidr6"/>.</summary>
    public bool Contains(Packets.NetAddress address) => Cidr.Contains(address) || Cidr6.Contains(address);
}

/// <summary>Two networks whose VMs may talk to each other (<c>peerings[]</c>); symmetric.</summary>
/// <param name="First">One network's name.</param>
/// <param name="Second">The other network's name.</param>
public sealed record PeeringConfig(string First, string Second)
{
    /// <summary>True when this peering joins <paramref name="a"/> and <paramref name="b"/>, in either order.</summary>
    public bool Joins(string a, string b) =>
        (string.Equals(First, a, StringComparison.Ordinal) && string.Equals(Second, b, StringComparison.Ordinal))
        || (string.Equals(First, b, StringComparison.Ordinal) && string.Equals(Second, a, StringComparison.Ordinal));
}
