namespace Offload.Actions;

/// <summary>What happens to a frame once its action ran.</summary>
public enum ActionVerdict : byte
{
    /// <summary>Send the frame out of <see cref="ActionOutcome.OutPort"/>.</summary>
    Output = 0,
    /// <summary>Drop the frame (and count <see cref="ActionOutcome.Reason"/>).</summary>
    Drop,
}

/// <summary>The result of <see cref="ActionExecutor.Apply"/>.</summary>
public readonly struct ActionOutcome : IEquatable<ActionOutcome>
{
    /// <summary>Output or drop.</summary>
    public ActionVerdict Verdict { get; }

    /// <summary>The output port (meaningful for <see cref="ActionVerdict.Output"/>).</summary>
    public ushort OutPort { get; }

    /// <summary>Why the frame was dropped; <see cref="DropReason.None"/> on output.</summary>
    public DropReason Reason { get; }

    /// <summary>Bytes of outer (tunnel) headers in front of the inner frame that the parsed packet still
    /// describes: the encapsulation length after an encap, 0 otherwise.</summary>
    public int OuterHeaderLength { get; }

    private ActionOutcome(ActionVerdict verdict, ushort outPort, DropReason reason, int outerHeaderLength)
    {
        Verdict = verdict;
        OutPort = outPort;
        Reason = reason;
        OuterHeaderLength = outerHeaderLength;
    }

    /// <summary>Send out of <paramref name="port"/>.</summary>
    public static ActionOutcome Output(ushort port, int outerHeaderLength = 0) => new(ActionVerdict.Output, port, DropReason.None, outerHeaderLength);

    /// <summary>Drop for <paramref name="reason"/>.</summary>
    public static ActionOutcome Drop(DropReason reason) => new(ActionVerdict.Drop, 0, reason, 0);

    /// <summary>True for a drop.</summary>
    public bool IsDrop => Verdict == ActionVerdict.Drop;

    /// <inheritdoc/>
    public bool Equals(ActionOutcome other) =>
        Verdict == other.Verdict && OutPort == other.OutPort && Reason == other.Reason && OuterHeaderLength == other.OuterHeaderLength;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is ActionOutcome other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Verdict, OutPort, Reason, OuterHeaderLength);

    /// <summary>Equality.</summary>
    public static bool operator ==(ActionOutcome left, ActionOutcome right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(ActionOutcome left, ActionOutcome right) => !left.Equals(right);

    /// <inheritdoc/>
    public override string ToString() => Verdict == ActionVerdict.Output
        ? "output:" + OutPort.ToString(System.Globalization.CultureInfo.InvariantCulture)
        : "drop:" + Reason.Name();
}
