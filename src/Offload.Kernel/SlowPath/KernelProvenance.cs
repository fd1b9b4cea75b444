using Offload.Kernel.Conntrack;

namespace Offload.Kernel.SlowPath;

/// <summary>
/// What a decision of <see cref="KernelSlowPath"/> came from, kept with the connection: for a forwarded connection the
/// kernel's conntrack entry (id and both tuples, so NAT and the backend are visible) and, for a load balancer whose
/// backend the adapter chose, that choice; for a drop the nftables rule that logged it.
/// </summary>
public sealed record KernelProvenance
{
    /// <summary>The kernel's conntrack entry id (0 for a drop).</summary>
    public uint ConntrackId { get; init; }

    /// <summary>The entry's original tuple (default for a drop).</summary>
    public ConntrackTuple Original { get; init; }

    /// <summary>The entry's reply tuple (default for a drop).</summary>
    public ConntrackTuple Reply { get; init; }

    /// <summary>The NFLOG prefix of the rule that dropped the packet (<c>acl:3</c>, <c>security-group:web:inbound</c>);
    /// null for a forwarded packet.</summary>
    public string? Rule { get; init; }

    /// <summary>The load balancer whose backend the adapter chose and pinned in the kernel; null otherwise.</summary>
    public string? LoadBalancer { get; init; }

    /// <inheritdoc/>
    public override string ToString() => Rule is not null
        ? "kernel nft " + Rule
        : $"kernel ct id={ConntrackId} {Original.Source}:{Original.SourcePort}->{Original.Destination}:{Original.DestinationPort} reply {Reply.Source}:{Reply.SourcePort}->{Reply.Destination}:{Reply.DestinationPort}"
          + (LoadBalancer is null ? "" : " lb=" + LoadBalancer);
}
