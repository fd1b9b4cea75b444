using System.Collections.Immutable;
using Offload.Kernel.Nftables;
using Offload.Packets;
using Offload.Policy;

namespace Offload.Kernel.SlowPath;

/// <summary>What the namespace should hold for one policy: devices by name, host routes, the ruleset's topology.</summary>
internal sealed class HostPlan
{
    public Dictionary<string, HostDeviceKind> Devices { get; } = new(StringComparer.Ordinal);

    public HashSet<HostRoute> Routes { get; } = [];

    public KernelTopology Topology { get; private set; } = new();

    public MacAddress RouterMac { get; private set; }

    /// <summary>The uplink's own MAC: the host's underlay MAC, as the policy slow path's SNAT action writes.</summary>
    public MacAddress UplinkMac { get; private set; }

    public static HostPlan Of(PolicySnapshot policy, string owner)
    {
        var plan = new HostPlan { RouterMac = policy.Host.GatewayMac ?? policy.Host.Underlay.Mac, UplinkMac = policy.Host.Underlay.Mac };
        var ports = ImmutableDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        var tunnels = ImmutableDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        foreach (NetworkConfig network in policy.Networks)
            tunnels[network.Name] = plan.Add(KernelInterfaceNames.Tunnel(owner, network.Name), HostDeviceKind.Tunnel, "network " + network.Name);
        foreach (PortConfig port in policy.Ports)
        {
            string device;
            if (policy.IsLocal(port))
                ports[port.Name] = device = plan.Add(KernelInterfaceNames.Port(owner, port.Name), HostDeviceKind.Port, "port " + port.Name);
            else if (!tunnels.TryGetValue(port.Network, out device!))
                continue; // the validator rejects a port of an unknown network; nothing to route it through
            plan.Routes.Add(new HostRoute(device, port.Ip, port.Mac));
            if (port.Ipv6 is { } v6)
                plan.Routes.Add(new HostRoute(device, v6, port.Mac));
        }
        string? uplink = policy.Host.Uplink is null ? null
            : plan.Add(KernelInterfaceNames.Uplink(owner, policy.Host.Name), HostDeviceKind.Uplink, "uplink");
        plan.Topology = new KernelTopology { PortInterfaces = ports.ToImmutable(), TunnelInterfaces = tunnels.ToImmutable(), UplinkInterface = uplink };
        return plan;
    }

    private string Add(string device, HostDeviceKind kind, string what)
    {
        if (!Devices.TryAdd(device, kind))
            throw new ArgumentException($"the derived interface name '{device}' of {what} collides with another device's; rename one of them");
        return device;
    }
}
