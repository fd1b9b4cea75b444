using Offload.Packets;

namespace Offload.Policy;

/// <summary>A VM NIC (<c>ports[]</c>), local or on another host.</summary>
public sealed record PortConfig
{
    /// <summary>Port name, used in output and referenced by security groups and QoS. "uplink" is reserved.</summary>
    public required string Name { get; init; }
    /// <summary>Name of the port's network.</summary>
    public required string Network { get; init; }
    /// <summary>The VM's MAC.</summary>
    public required MacAddress Mac { get; init; }
    /// <summary>The VM's address, inside its network's <see cref="NetworkConfig.Cidr"/>.</summary>
    public required NetAddress Ip { get; init; }
    /// <summary>Optional IPv6 address of a dual-stack port; <c>null</c> when unset.</summary>
    public NetAddress? Ipv6 { get; init; }
    /// <summary>Name of the host the VM runs on; the loader fills in the local host's name when unset.</summary>
    public required string Host { get; init; }
    /// <summary>Host-side device of a local VM's vNIC (for <c>offload run</c>); only for local ports.</summary>
    public string? Interface { get; init; }
}
