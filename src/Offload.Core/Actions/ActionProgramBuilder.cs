using Offload.Packets;

namespace Offload.Actions;

/// <summary>
/// Fluent builder of an <see cref="ActionProgram"/>. Operations may be added in any order;
/// <see cref="Build"/> validates them and sorts them into the canonical order.
/// </summary>
public sealed class ActionProgramBuilder
{
    private readonly List<HeaderOp> _ops = new();
    private ActionVerdict? _verdict;
    private ushort _outPort;
    private DropReason _dropReason;
    private int _verdictCount;

    internal ActionProgramBuilder()
    {
    }

    /// <summary>Remove the tunnel headers of a frame received from the uplink.</summary>
    public ActionProgramBuilder Decapsulate() => Add(new HeaderOp(HeaderOpKind.Decapsulate));

    /// <summary>Write <paramref name="mac"/> as the (inner) source MAC.</summary>
    public ActionProgramBuilder SetSourceMac(MacAddress mac) => Add(new HeaderOp(HeaderOpKind.SetSourceMac, mac.Value));

    /// <summary>Write <paramref name="mac"/> as the (inner) destination MAC.</summary>
    public ActionProgramBuilder SetDestinationMac(MacAddress mac) => Add(new HeaderOp(HeaderOpKind.SetDestinationMac, mac.Value));

    /// <summary>Apply the flow's <see cref="NatRewrite"/>.</summary>
    public ActionProgramBuilder ApplyNat() => Add(new HeaderOp(HeaderOpKind.Nat));

    /// <summary>Decrement TTL / hop limit (routing between networks).</summary>
    public ActionProgramBuilder DecrementTtl() => Add(new HeaderOp(HeaderOpKind.DecrementTtl));

    /// <summary>Charge the frame to meter <paramref name="meterId"/>.</summary>
    public ActionProgramBuilder Meter(int meterId)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(meterId);
        return Add(new HeaderOp(HeaderOpKind.Meter, (ulong)meterId));
    }

    /// <summary>Encapsulate with <paramref name="template"/>.</summary>
    public ActionProgramBuilder Encapsulate(EncapTemplate template)
    {
        ArgumentNullException.ThrowIfNull(template);
        return Add(new HeaderOp(HeaderOpKind.Encapsulate, 0, template));
    }

    /// <summary>Verdict: send out of <paramref name="port"/>.</summary>
    public ActionProgramBuilder Output(ushort port)
    {
        _verdict = ActionVerdict.Output;
        _outPort = port;
        _verdictCount++;
        return this;
    }

    /// <summary>Verdict: drop for <paramref name="reason"/>.</summary>
    public ActionProgramBuilder Drop(DropReason reason)
    {
        _verdict = ActionVerdict.Drop;
        _dropReason = reason;
        _verdictCount++;
        return this;
    }

    /// <summary>Validates and builds the program.</summary>
    /// <exception cref="InvalidOperationException">No verdict or two verdicts, an operation given twice
    /// (a meter id twice), a drop verdict with header operations, or a drop without a reason.</exception>
    public ActionProgram Build()
    {
        if (_verdictCount == 0)
            throw new InvalidOperationException("An action program needs a verdict: call Output(port) or Drop(reason).");
        if (_verdictCount > 1)
            throw new InvalidOperationException("An action program has exactly one verdict; Output/Drop was called more than once.");
        if (_verdict == ActionVerdict.Drop)
        {
            if (_dropReason == DropReason.None)
                throw new InvalidOperationException("A drop program needs a drop reason other than None.");
            if (_ops.Count != 0)
                throw new InvalidOperationException(
                    $"A drop program carries no header operations (got {_ops[0]}); rewriting a frame that is dropped is a mistake in the caller.");
        }

        var ops = _ops.ToArray();
        // Stable insertion sort by kind (at most a handful of ops): keeps meters in the order given.
        for (int i = 1; i < ops.Length; i++)
        {
            var op = ops[i];
            int j = i - 1;
            while (j >= 0 && ops[j].Kind > op.Kind)
            {
                ops[j + 1] = ops[j];
                j--;
            }
            ops[j + 1] = op;
        }
        for (int i = 1; i < ops.Length; i++)
        {
            if (ops[i].Kind != ops[i - 1].Kind)
                continue;
            if (ops[i].Kind != HeaderOpKind.Meter)
                throw new InvalidOperationException($"'{ops[i]}' conflicts with '{ops[i - 1]}': each operation may appear once in a program.");
            for (int k = i - 1; k >= 0 && ops[k].Kind == HeaderOpKind.Meter; k--)
                if (ops[k].MeterId == ops[i].MeterId)
                    throw new InvalidOperationException($"Meter {ops[i].MeterId} is charged twice in one program.");
        }
        return new ActionProgram(ops, _verdict!.Value, _verdict == ActionVerdict.Output ? _outPort : (ushort)0,
            _verdict == ActionVerdict.Drop ? _dropReason : DropReason.None);
    }

    private ActionProgramBuilder Add(HeaderOp op)
    {
        _ops.Add(op);
        return this;
    }
}
