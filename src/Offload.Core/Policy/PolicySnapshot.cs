using System.Collections.Immutable;
using Offload.Conntrack;
using Offload.Datapath;

namespace Offload.Policy;

/// <summary>
/// One complete, immutable policy. Built by <see cref="PolicyLoader"/> (or in code and checked by
/// <see cref="PolicyValidator"/>), and made the running policy by <see cref="PolicyStore"/>. Two snapshots are
/// equal when their content is (<see cref="Digest"/>), whatever their <see cref="Generation"/>, key order,
/// comments or YAML style.
/// </summary>
public sealed record PolicySnapshot
{
    /// <summary>This host.</summary>
    public required HostConfig Host { get; init; }
    /// <summary>Other hosts' tunnel endpoints.</summary>
    public ImmutableArray<RemoteHostConfig> Hosts { get; init; } = [];
    /// <summary>Virtual networks.</summary>
    public ImmutableArray<NetworkConfig> Networks { get; init; } = [];
    /// <summary>Pairs of networks that may talk to each other.</summary>
    public ImmutableArray<PeeringConfig> Peerings { get; init; } = [];
    /// <summary>VM NICs, local and remote.</summary>
    public ImmutableArray<PortConfig> Ports { get; init; } = [];
    /// <summary>The ACL.</summary>
    public AclConfig Acl { get; init; } = AclConfig.Empty;
    /// <summary>Stateful security groups.</summary>
    public ImmutableArray<SecurityGroupConfig> SecurityGroups { get; init; } = [];
    /// <summary>Load balancers.</summary>
    public ImmutableArray<LoadBalancerConfig> LoadBalancers { get; init; } = [];
    /// <summary>Source NAT per network.</summary>
    public ImmutableArray<SnatConfig> Snat { get; init; } = [];
    /// <summary>Per-port rate limits.</summary>
    public ImmutableArray<QosConfig> Qos { get; init; } = [];
    /// <summary>Connection tracking settings.</summary>
    public ConntrackConfig Conntrack { get; init; } = ConntrackConfig.Default;
    /// <summary>What is offloaded and when.</summary>
    public OffloadConfig Offload { get; init; } = OffloadConfig.Default;

    /// <summary>Assigned by <see cref="PolicyStore"/>: 1 for the first policy applied, +1 per change; 0 before.</summary>
    public long Generation { get; init; }

    /// <summary>SHA-256 (lower-case hex) of the canonical JSON form of the content (<see cref="ToCanonicalJson"/>);
    /// <see cref="Generation"/> is not part of it. Computed on each call.</summary>
    public string Digest => PolicyCanonicalJson.Digest(this);

    /// <summary>The content as compact JSON with every default filled in and values in canonical text (addresses,
    /// prefixes, port lists), so identical policies give identical bytes.</summary>
    public string ToCanonicalJson() => PolicyCanonicalJson.Write(this);

    /// <summary>Connection tracking settings as <see cref="ConntrackOptions"/> (a fresh instance per call).</summary>
    public ConntrackOptions ToConntrackOptions() => Conntrack.ToOptions();

    /// <summary>The offload policy as <see cref="OffloadPolicy"/> (a fresh instance per call).</summary>
    public OffloadPolicy ToOffloadPolicy() => Offload.ToOffloadPolicy();

    /// <summary>True when <paramref name="port"/> runs on this host.</summary>
    public bool IsLocal(PortConfig port)
    {
        ArgumentNullException.ThrowIfNull(port);
        return string.Equals(port.Host, Host.Name, StringComparison.Ordinal);
    }

    /// <summary>True when the content of both snapshots is the same (see <see cref="Digest"/>).</summary>
    public bool Equals(PolicySnapshot? other) =>
        other is not null && (ReferenceEquals(this, other) || string.Equals(Digest, other.Digest, StringComparison.Ordinal));

    /// <inheritdoc/>
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Digest);
}
