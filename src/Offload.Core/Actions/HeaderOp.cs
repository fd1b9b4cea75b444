using System.Globalization;
using Offload.Packets;

namespace Offload.Actions;

/// <summary>The header operations of an <see cref="ActionProgram"/>, in their canonical execution order.</summary>
public enum HeaderOpKind : byte
{
    /// <summary>Remove the outer tunnel headers (synthesising Ethernet for GRE carrying IP).</summary>
    Decapsulate = 0,
    /// <summary>Write the source MAC.</summary>
    SetSourceMac,
    /// <summary>Write the destination MAC.</summary>
    SetDestinationMac,
    /// <summary>Apply the flow's <see cref="NatRewrite"/>.</summary>
    Nat,
    /// <summary>Decrement the IPv4 TTL / IPv6 hop limit; drop when it would reach zero.</summary>
    DecrementTtl,
    /// <summary>Charge the frame to a token-bucket meter; drop when over rate.</summary>
    Meter,
    /// <summary>Write outer tunnel headers into the headroom.</summary>
    Encapsulate,
}

/// <summary>One operation of a program: its kind and its operand (a MAC, a meter id or a template).</summary>
public readonly struct HeaderOp : IEquatable<HeaderOp>
{
    private readonly ulong _operand;

    internal HeaderOp(HeaderOpKind kind, ulong operand = 0, EncapTemplate? template = null)
    {
        Kind = kind;
        _operand = operand;
        Template = template;
    }

    /// <summary>The operation.</summary>
    public HeaderOpKind Kind { get; }

    /// <summary>The MAC of <see cref="HeaderOpKind.SetSourceMac"/> / <see cref="HeaderOpKind.SetDestinationMac"/>.</summary>
    public MacAddress Mac => new(_operand);

    /// <summary>The meter of <see cref="HeaderOpKind.Meter"/>.</summary>
    public int MeterId => (int)_operand;

    /// <summary>The outer headers of <see cref="HeaderOpKind.Encapsulate"/>; null for other kinds.</summary>
    public EncapTemplate? Template { get; }

    /// <inheritdoc/>
    public bool Equals(HeaderOp other) =>
        Kind == other.Kind && _operand == other._operand
        && (ReferenceEquals(Template, other.Template) || (Template is not null && Template.Equals(other.Template)));

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is HeaderOp other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Kind, _operand, Template);

    /// <summary>Equality.</summary>
    public static bool operator ==(HeaderOp left, HeaderOp right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(HeaderOp left, HeaderOp right) => !left.Equals(right);

    /// <summary>The compact form used in flow dumps ("set_dst_mac(02:00:00:00:00:01)", "encap(vxlan vni=100 a->b)").</summary>
    public override string ToString() => Kind switch
    {
        HeaderOpKind.Decapsulate => "decap",
        HeaderOpKind.SetSourceMac => $"set_src_mac({Mac})",
        HeaderOpKind.SetDestinationMac => $"set_dst_mac({Mac})",
        HeaderOpKind.Nat => "nat",
        HeaderOpKind.DecrementTtl => "ttl",
        HeaderOpKind.Meter => "meter(" + MeterId.ToString(CultureInfo.InvariantCulture) + ")",
        HeaderOpKind.Encapsulate => $"encap({Template})",
        _ => Kind.ToString(),
    };
}
