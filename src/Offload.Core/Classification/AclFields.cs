using System.Runtime.CompilerServices;

namespace Offload.Classification;

/// <summary>
/// The seven ACL match fields as unsigned integers in one space, so the decision tree can cut any of
/// them with the same comparison: a rule is a box of inclusive [lo, hi] ranges, a packet a point.
/// </summary>
internal static class AclFields
{
    public const int Count = 7;
    public const int Direction = 0;
    public const int Vni = 1;
    public const int Source = 2;
    public const int Destination = 3;
    public const int Protocol = 4;
    public const int SourcePort = 5;
    public const int DestinationPort = 6;

    /// <summary>The largest value of each field (the universe box's upper corner).</summary>
    public static FieldValues UniverseHi()
    {
        FieldValues hi = default;
        hi[Direction] = (uint)AclDirection.Egress;
        hi[Vni] = uint.MaxValue;
        hi[Source] = UInt128.MaxValue;
        hi[Destination] = UInt128.MaxValue;
        hi[Protocol] = byte.MaxValue;
        hi[SourcePort] = ushort.MaxValue;
        hi[DestinationPort] = ushort.MaxValue;
        return hi;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void FromQuery(in AclQuery query, ref FieldValues v)
    {
        // A query direction other than ingress/egress lands outside every rule's [0, 1] range.
        v[Direction] = (uint)query.Direction;
        v[Vni] = query.Vni;
        v[Source] = AclPrefix.ToUInt128(query.SrcIp);
        v[Destination] = AclPrefix.ToUInt128(query.DstIp);
        v[Protocol] = query.Protocol;
        v[SourcePort] = query.SrcPort;
        v[DestinationPort] = query.DstPort;
    }
}

/// <summary>One value per ACL field.</summary>
[InlineArray(AclFields.Count)]
internal struct FieldValues
{
    private UInt128 _element;
}
