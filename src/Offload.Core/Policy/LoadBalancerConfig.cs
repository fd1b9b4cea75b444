using System.Collections.Immutable;
using Offload.Packets;

namespace Offload.Policy;

/// <summary>A load balancer (<c>loadBalancers[]</c>, claim C10): connections to VIP:port are DNATed to one backend.</summary>
public sealed record LoadBalancerConfig
{
    /// <summary>Load balancer name.</summary>
    public required string Name { get; init; }
    /// <summary>Network the VIP lives in.</summary>
    public required string Network { get; init; }
    /// <summary>Virtual IP, inside the network, not any port's address nor a backend.</summary>
    public required NetAddress Vip { get; init; }
    /// <summary>Service port, 1 … 65535.</summary>
    public required ushort Port { get; init; }
    /// <summary><see cref="IpProtocol.Tcp"/> or <see cref="IpProtocol.Udp"/>.</summary>
    public required byte Protocol { get; init; }
    /// <summary>Backend choice. Default Maglev.</summary>
    public LoadBalancingAlgorithm Algorithm { get; init; } = LoadBalancingAlgorithm.Maglev;
    /// <summary>At least one backend, in the network or a peered one.</summary>
    public required ImmutableArray<BackendConfig> Backends { get; init; }
}

/// <summary>A load-balancer backend.</summary>
/// <param name="Ip">Backend address.</param>
/// <param name="Port">Backend port (defaults to the load balancer's port).</param>
/// <param name="Weight">Relative weight, 1 … 65535 (default 1).</param>
public sealed record BackendConfig(NetAddress Ip, ushort Port, int Weight = 1);
