using System.Collections.Immutable;
using Offload.Policy;

namespace Offload.Kernel.Nftables;

/// <summary>
/// Where the policy's ports, networks and the public network are in the host kernel, for
/// <see cref="NftablesRulesetGenerator"/>. The host routes between devices (no bridge): each local VM port has its own
/// emulated NIC, each network its own tunnel device, and the uplink carries public (SNAT) traffic, so nftables tells
/// them apart by <c>iifname</c>/<c>oifname</c>.
/// </summary>
public sealed record KernelTopology
{
    /// <summary>Longest Linux interface name (IFNAMSIZ − 1).</summary>
    public const int MaxInterfaceNameLength = 15;

    /// <summary>Default <see cref="TableName"/>. Not "offload": that is a keyword of the nft language.</summary>
    public const string DefaultTableName = "offload_policy";

    /// <summary>Name of the <c>inet</c> table the ruleset owns (deleted and recreated on every apply).</summary>
    public string TableName { get; init; } = DefaultTableName;

    /// <summary>Host-side device of each local port's emulated NIC, by port name. Every local port needs one.</summary>
    public ImmutableDictionary<string, string> PortInterfaces { get; init; } = ImmutableDictionary<string, string>.Empty;

    /// <summary>Tunnel device of each network, by network name; a network without one receives nothing from other hosts.</summary>
    public ImmutableDictionary<string, string> TunnelInterfaces { get; init; } = ImmutableDictionary<string, string>.Empty;

    /// <summary>Device towards the public network; <c>null</c> for none (then no SNAT and no uplink rules).</summary>
    public string? UplinkInterface { get; init; }

    /// <summary>NFLOG group every drop is logged to, with the prefix "<c>reason:id</c>".</summary>
    public ushort LogGroup { get; init; } = 1;

    /// <summary>
    /// The topology the policy itself names: each local port's <see cref="PortConfig.Interface"/> and the host's
    /// <see cref="HostConfig.Uplink"/>; tunnel devices are the caller's to add.
    /// </summary>
    public static KernelTopology FromPolicy(PolicySnapshot policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        var ports = ImmutableDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        foreach (PortConfig port in policy.Ports)
        {
            if (policy.IsLocal(port) && port.Interface is { } name)
                ports[port.Name] = name;
        }
        return new KernelTopology { PortInterfaces = ports.ToImmutable(), UplinkInterface = policy.Host.Uplink };
    }

    /// <summary>Throws <see cref="ArgumentException"/> when a name cannot be used in the kernel.</summary>
    internal void Validate()
    {
        if (TableName.Length is 0 or > 255 || !char.IsAsciiLetter(TableName[0]) || !IsWord(TableName))
            throw new ArgumentException($"table name '{TableName}' must be a letter followed by letters, digits or '_' (at most 255)", nameof(TableName));
        foreach ((string port, string device) in PortInterfaces)
            ValidateInterface(device, $"port '{port}'");
        foreach ((string network, string device) in TunnelInterfaces)
            ValidateInterface(device, $"tunnel of network '{network}'");
        if (UplinkInterface is not null)
            ValidateInterface(UplinkInterface, "uplink");
    }

    private static void ValidateInterface(string device, string what)
    {
        if (device.Length is 0 or > MaxInterfaceNameLength || device is "." or ".."
            || device.Any(c => c is '/' or ':' or '"' or '\\' || char.IsWhiteSpace(c) || c > '~'))
            throw new ArgumentException($"interface '{device}' of {what} is not a valid Linux interface name (1 to {MaxInterfaceNameLength} printable characters, no '/', ':', quotes or spaces)");
    }

    private static bool IsWord(string text)
    {
        foreach (char c in text)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '_'))
                return false;
        }
        return true;
    }
}
