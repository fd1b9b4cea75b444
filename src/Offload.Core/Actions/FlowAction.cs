namespace Offload.Actions;

/// <summary>
/// What a flow holds: a reference to a shared, interned <see cref="ActionProgram"/> plus the
/// per-connection NAT translation, so a million flows share a handful of programs.
/// </summary>
public readonly struct FlowAction : IEquatable<FlowAction>
{
    /// <summary>The shared program.</summary>
    public ActionProgram Program { get; }

    /// <summary>The per-connection NAT translation the program's NAT op applies.</summary>
    public NatRewrite Nat { get; }

    /// <summary>Creates a flow action.</summary>
    public FlowAction(ActionProgram program, NatRewrite nat = default)
    {
        ArgumentNullException.ThrowIfNull(program);
        Program = program;
        Nat = nat;
    }

    /// <inheritdoc/>
    public bool Equals(FlowAction other) =>
        (ReferenceEquals(Program, other.Program) || (Program is not null && Program.Equals(other.Program))) && Nat == other.Nat;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is FlowAction other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Program, Nat);

    /// <summary>Equality.</summary>
    public static bool operator ==(FlowAction left, FlowAction right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(FlowAction left, FlowAction right) => !left.Equals(right);

    /// <inheritdoc/>
    public override string ToString() =>
        Program is null ? "(none)" : Program.UsesNat && !Nat.IsNone ? $"{Program} [{Nat}]" : Program.ToString();
}
