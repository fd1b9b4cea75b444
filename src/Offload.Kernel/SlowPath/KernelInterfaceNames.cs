using System.Security.Cryptography;
using System.Text;

namespace Offload.Kernel.SlowPath;

/// <summary>
/// Deterministic interface names for <see cref="KernelHostTopology"/>. Policy names are free text of any length, and a
/// Linux name holds at most 15 bytes, so a name is a 3-letter kind prefix and 8 hex digits of SHA-256 over
/// "<c>owner/kind/name</c>": <c>ofp</c> + hash for a local port's emulated NIC, <c>oft</c> + hash for a network's tunnel
/// device, <c>ofu</c> + hash for the uplink (11 characters). The owner is part of the hash so two owners can share a
/// namespace; the same owner and name always give the same device name, so a restarted agent finds (and sweeps) its
/// own devices. 32 bits make a collision between a host's few hundred devices unlikely, and
/// <see cref="KernelHostTopology"/> refuses a policy where one happens rather than sharing a device.
/// </summary>
public static class KernelInterfaceNames
{
    /// <summary>Prefix of a local port's emulated NIC.</summary>
    public const string PortPrefix = "ofp";

    /// <summary>Prefix of a network's tunnel device.</summary>
    public const string TunnelPrefix = "oft";

    /// <summary>Prefix of the uplink device.</summary>
    public const string UplinkPrefix = "ofu";

    /// <summary>The emulated NIC of local port <paramref name="port"/> of <paramref name="owner"/>.</summary>
    public static string Port(string owner, string port) => Derive(owner, PortPrefix, port);

    /// <summary>The tunnel device of network <paramref name="network"/> of <paramref name="owner"/>.</summary>
    public static string Tunnel(string owner, string network) => Derive(owner, TunnelPrefix, network);

    /// <summary>The uplink device of host <paramref name="host"/> of <paramref name="owner"/>.</summary>
    public static string Uplink(string owner, string host) => Derive(owner, UplinkPrefix, host);

    private static string Derive(string owner, string kind, string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(owner);
        ArgumentException.ThrowIfNullOrEmpty(name);
        byte[] hash = SHA256.HashData(Encoding.UTF8.GetBytes(owner + "/" + kind + "/" + name));
        return kind + Convert.ToHexStringLower(hash, 0, 4);
    }
}
