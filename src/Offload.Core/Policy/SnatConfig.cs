using Offload.Packets;

namespace Offload.Policy;

/// <summary>Source NAT of a network's traffic to public addresses (<c>snat[]</c>, claim C11).</summary>
/// <param name="Network">The network; one SNAT entry per network.</param>
/// <param name="PublicIp">Address the sources are translated to; outside every network.</param>
/// <param name="Ports">Source ports handed out (default 1024–65535).</param>
public sealed record SnatConfig(string Network, NetAddress PublicIp, PortRange Ports);
