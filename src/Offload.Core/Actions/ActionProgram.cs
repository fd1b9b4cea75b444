using System.Globalization;
using System.Text;

namespace Offload.Actions;

/// <summary>
/// A compiled, immutable list of header operations plus a verdict (VFP's "header transposition"),
/// shared by every flow that takes the same action. Built by <see cref="CreateBuilder"/>, which puts the
/// operations in the one canonical order (decap → MAC/NAT rewrites → TTL → meter → encap → verdict).
/// Value equality lets equal programs be interned to one instance.
/// </summary>
public sealed class ActionProgram : IEquatable<ActionProgram>
{
    private readonly HeaderOp[] _ops;
    private readonly int _hash;

    internal ActionProgram(HeaderOp[] ops, ActionVerdict verdict, ushort outPort, DropReason dropReason)
    {
        _ops = ops;
        Verdict = verdict;
        OutPort = outPort;
        DropReason = dropReason;
        bool usesNat = false;
        var hash = new HashCode();
        hash.Add(verdict);
        hash.Add(outPort);
        hash.Add(dropReason);
        foreach (var op in ops)
        {
            hash.Add(op);
            usesNat |= op.Kind == HeaderOpKind.Nat;
        }
        UsesNat = usesNat;
        _hash = hash.ToHashCode();
    }

    /// <summary>A new builder.</summary>
    public static ActionProgramBuilder CreateBuilder() => new();

    /// <summary>A program that drops every frame for <paramref name="reason"/>.</summary>
    public static ActionProgram Drop(DropReason reason)
    {
        // One shared program per reason: drop decisions are frequent on the slow path and all alike.
        var cached = Volatile.Read(ref DropPrograms[(byte)reason]);
        if (cached is null)
        {
            cached = CreateBuilder().Drop(reason).Build();
            Volatile.Write(ref DropPrograms[(byte)reason], cached);
        }
        return cached;
    }

    private static readonly ActionProgram?[] DropPrograms = new ActionProgram?[256];

    /// <summary>Output or drop.</summary>
    public ActionVerdict Verdict { get; }

    /// <summary>Output port (for <see cref="ActionVerdict.Output"/>; 0 otherwise).</summary>
    public ushort OutPort { get; }

    /// <summary>Drop reason (for <see cref="ActionVerdict.Drop"/>; <see cref="Offload.DropReason.None"/> otherwise).</summary>
    public DropReason DropReason { get; }

    /// <summary>The operations in execution order.</summary>
    public ReadOnlySpan<HeaderOp> Ops => _ops;

    internal HeaderOp[] OpArray => _ops;

    /// <summary>True when the program applies the flow's <see cref="NatRewrite"/>.</summary>
    public bool UsesNat { get; }

    /// <summary>The encapsulation template, or null when the program does not encapsulate.</summary>
    public EncapTemplate? Encapsulation
    {
        get
        {
            foreach (var op in _ops)
                if (op.Kind == HeaderOpKind.Encapsulate)
                    return op.Template;
            return null;
        }
    }

    /// <inheritdoc/>
    public bool Equals(ActionProgram? other)
    {
        if (ReferenceEquals(this, other))
            return true;
        if (other is null || _hash != other._hash || Verdict != other.Verdict || OutPort != other.OutPort
            || DropReason != other.DropReason || _ops.Length != other._ops.Length)
            return false;
        for (int i = 0; i < _ops.Length; i++)
            if (!_ops[i].Equals(other._ops[i]))
                return false;
        return true;
    }

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as ActionProgram);

    /// <inheritdoc/>
    public override int GetHashCode() => _hash;

    /// <summary>Compact description for flow dumps, e.g.
    /// <c>decap,set_dst_mac(02:00:00:01:00:01),nat,ttl,encap(vxlan vni=100 192.0.2.10->192.0.2.11),output:3</c>.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        foreach (var op in _ops)
            sb.Append(op.ToString()).Append(',');
        if (Verdict == ActionVerdict.Output)
            sb.Append("output:").Append(OutPort.ToString(CultureInfo.InvariantCulture));
        else
            sb.Append("drop:").Append(DropReason.Name());
        return sb.ToString();
    }
}
