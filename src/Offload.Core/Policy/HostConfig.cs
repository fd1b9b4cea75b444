using Offload.Packets;

namespace Offload.Policy;

/// <summary>A host's tunnel endpoint on the underlay network.</summary>
/// <param name="Ip">Underlay IP (outer source/destination of tunnel packets).</param>
/// <param name="Mac">Underlay MAC.</param>
public sealed record UnderlayConfig(NetAddress Ip, MacAddress Mac);

/// <summary>The host this switch runs on (<c>host:</c>).</summary>
public sealed record HostConfig
{
    /// <summary>Host name; ports whose <c>host</c> is this name (or unset) are local.</summary>
    public required string Name { get; init; }
    /// <summary>This host's tunnel endpoint.</summary>
    public required UnderlayConfig Underlay { get; init; }
    /// <summary>Next hop MAC on the uplink for public traffic; also the single gateway MAC the ARP/ND responder
    /// answers with for off-network destinations. <c>null</c> when unset.</summary>
    public MacAddress? GatewayMac { get; init; }
    /// <summary>Device carrying underlay and public traffic (for <c>offload run</c>); <c>null</c> when unset.</summary>
    public string? Uplink { get; init; }
}

/// <summary>Another host's tunnel endpoint (<c>hosts[]</c>).</summary>
/// <param name="Name">Host name, referenced by <see cref="PortConfig.Host"/>.</param>
/// <param name="Underlay">Its tunnel endpoint.</param>
public sealed record RemoteHostConfig(string Name, UnderlayConfig Underlay);
