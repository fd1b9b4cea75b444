using System.Collections.Immutable;
using System.Runtime.CompilerServices;

using Offload.Packets;

namespace Offload.Classification;

/// <summary>
/// One compiled access-control rule (claim C6), independent of the YAML policy model: the policy slow
/// path translates its rules into these. A field left at its default matches anything: <see cref="Vni"/>
/// and <see cref="Protocol"/> null, prefixes <see cref="AclPrefix.Any"/>, port lists empty or default.
/// A port list matches when any one of its ranges contains the packet's port.
/// </summary>
/// <remarks>
/// Among matching rules the highest <see cref="Priority"/> wins; at equal priority Deny beats Allow, then
/// the lowest <see cref="Id"/> wins — a total order, so every classifier gives the same answer.
/// </remarks>
public readonly struct AclRule : IEquatable<AclRule>
{
    /// <summary>Higher wins.</summary>
    public int Priority { get; init; }

    /// <summary>What a match does.</summary>
    public AclAction Action { get; init; }

    /// <summary>Which packets the rule sees (default <see cref="AclDirection.Ingress"/>).</summary>
    public AclDirection Direction { get; init; }

    /// <summary>The virtual network the rule is limited to; null matches every VNI.</summary>
    public uint? Vni { get; init; }

    /// <summary>Source prefix.</summary>
    public AclPrefix Source { get; init; }

    /// <summary>Destination prefix.</summary>
    public AclPrefix Destination { get; init; }

    /// <summary>L4 protocol number; null matches every protocol.</summary>
    public byte? Protocol { get; init; }

    /// <summary>Source port ranges (any of them); empty or default matches every port.</summary>
    public ImmutableArray<PortRange> SourcePorts { get; init; }

    /// <summary>Destination port ranges (any of them); empty or default matches every port.</summary>
    public ImmutableArray<PortRange> DestinationPorts { get; init; }

    /// <summary>Provenance: the rule's index in the user's rule list, reported in <see cref="AclMatch.RuleId"/>.</summary>
    public int Id { get; init; }

    /// <summary>True when the rule matches <paramref name="query"/> (reference semantics, not the fast path).</summary>
    public bool Matches(in AclQuery query)
    {
        if (query.Direction is not (AclDirection.Ingress or AclDirection.Egress))
            return false;
        if (Direction != AclDirection.Both && Direction != query.Direction)
            return false;
        if (Vni is uint vni && vni != query.Vni)
            return false;
        if (Protocol is byte protocol && protocol != query.Protocol)
            return false;
        return Source.Contains(query.SrcIp) && Destination.Contains(query.DstIp)
            && AnyContains(SourcePorts, query.SrcPort) && AnyContains(DestinationPorts, query.DstPort);
    }

    /// <summary>True when this rule takes precedence over <paramref name="other"/> when both match.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Beats(in AclRule other) => Compare(Priority, Action, Id, other.Priority, other.Action, other.Id) < 0;

    /// <summary>Precedence order: negative when (priority a, action a, id a) wins over b.</summary>
    internal static int Compare(int priorityA, AclAction actionA, int idA, int priorityB, AclAction actionB, int idB)
    {
        if (priorityA != priorityB)
            return priorityA > priorityB ? -1 : 1;
        if (actionA != actionB)
            return actionA == AclAction.Deny ? -1 : 1;
        return idA.CompareTo(idB);
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the rule when a field is out of range.</summary>
    internal void Validate(int index)
    {
        if (!Enum.IsDefined(Direction))
            throw new ArgumentException($"ACL rule {index} (id {Id}): direction {(int)Direction} is not ingress, egress or both.", "rules");
        if (!Enum.IsDefined(Action))
            throw new ArgumentException($"ACL rule {index} (id {Id}): action {(int)Action} is not allow or deny.", "rules");
        if (Vni is > 0xFF_FFFF)
            throw new ArgumentException($"ACL rule {index} (id {Id}): VNI {Vni} does not fit in 24 bits.", "rules");
        ValidatePorts(SourcePorts, index, "source");
        ValidatePorts(DestinationPorts, index, "destination");
    }

    private void ValidatePorts(ImmutableArray<PortRange> ports, int index, string which)
    {
        if (ports.IsDefault)
            return;
        foreach (var range in ports)
        {
            if (range.Lo > range.Hi)
                throw new ArgumentException($"ACL rule {index} (id {Id}): {which} port range {range.Lo}-{range.Hi} is empty.", "rules");
        }
    }

    private static bool AnyContains(ImmutableArray<PortRange> ranges, ushort port)
    {
        if (ranges.IsDefaultOrEmpty)
            return true;
        foreach (var range in ranges)
        {
            if (range.Contains(port))
                return true;
        }
        return false;
    }

    /// <inheritdoc/>
    public bool Equals(AclRule other) =>
        Priority == other.Priority && Action == other.Action && Direction == other.Direction && Vni == other.Vni
        && Source == other.Source && Destination == other.Destination && Protocol == other.Protocol && Id == other.Id
        && SamePorts(SourcePorts, other.SourcePorts) && SamePorts(DestinationPorts, other.DestinationPorts);

    private static bool SamePorts(ImmutableArray<PortRange> a, ImmutableArray<PortRange> b)
    {
        if (a.IsDefaultOrEmpty || b.IsDefaultOrEmpty)
            return a.IsDefaultOrEmpty == b.IsDefaultOrEmpty;
        return a.AsSpan().SequenceEqual(b.AsSpan());
    }

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is AclRule other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Priority, Action, Direction, Vni, Source, Destination, Protocol, Id);

    /// <summary>Equality.</summary>
    public static bool operator ==(AclRule left, AclRule right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(AclRule left, AclRule right) => !left.Equals(right);

    /// <inheritdoc/>
    public override string ToString() =>
        $"#{Id} prio {Priority} {Action} {Direction} vni {(Vni?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "any")} " +
        $"{Source} -> {Destination} proto {(Protocol?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "any")} " +
        $"sport {Ports(SourcePorts)} dport {Ports(DestinationPorts)}";

    private static string Ports(ImmutableArray<PortRange> ports) =>
        ports.IsDefaultOrEmpty ? "any" : string.Join(",", ports);
}
