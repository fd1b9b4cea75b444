using Offload.Actions;
using Offload.Doca.Flow;
using Offload.Flows;

namespace Offload.Doca.Backends;

/// <summary>Turns an <see cref="ActionProgram"/> plus the flow's NAT into the DOCA entry that does the same.</summary>
public static class DocaActionTranslator
{
    /// <summary>
    /// Translates <paramref name="action"/> for the flow <paramref name="key"/>; returns null on success,
    /// or why DOCA cannot express it (the flow then stays in software with that reason).
    /// </summary>
    public static string? TryTranslate(in FlowKey key, in FlowAction action, out DocaFlowAction result)
    {
        result = default;
        ActionProgram? program = action.Program;
        if (program is null)
            return "no action program";
        if (program.Verdict == ActionVerdict.Drop)
        {
            // Header ops before a drop change nothing anyone sees.
            result = DocaFlowAction.Drop;
            return null;
        }
        var a = new DocaFlowAction { Fate = DocaFate.Port, Port = program.OutPort };
        var rewrites = DocaRewrites.None;
        foreach (HeaderOp op in program.Ops)
        {
            switch (op.Kind)
            {
                case HeaderOpKind.Decapsulate:
                    rewrites |= DocaRewrites.Decap;
                    break;
                case HeaderOpKind.SetSourceMac:
                    rewrites |= DocaRewrites.SourceMac;
                    a = a with { SourceMac = op.Mac };
                    break;
                case HeaderOpKind.SetDestinationMac:
                    rewrites |= DocaRewrites.DestinationMac;
                    a = a with { DestinationMac = op.Mac };
                    break;
                case HeaderOpKind.Nat:
                {
                    NatRewrite nat = action.Nat;
                    if (nat.IsNone)
                        break;
                    if (!key.IsV4 || !nat.Address.IsV4)
                        return "doca cannot apply NAT to IPv6 flows";
                    if (nat.Kind == NatKind.Source)
                    {
                        rewrites |= DocaRewrites.SourceAddress | (nat.Port != 0 ? DocaRewrites.SourcePort : 0);
                        a = a with { SourceAddress = nat.Address, SourcePort = nat.Port };
                    }
                    else
                    {
                        rewrites |= DocaRewrites.DestinationAddress | (nat.Port != 0 ? DocaRewrites.DestinationPort : 0);
                        a = a with { DestinationAddress = nat.Address, DestinationPort = nat.Port };
                    }
                    break;
                }
                case HeaderOpKind.Encapsulate:
                {
                    EncapTemplate t = op.Template!;
                    if (t.Type == TunnelType.Vxlan && t.UdpDestinationPort != EncapTemplate.VxlanPort)
                        return $"doca encapsulates VXLAN to UDP port {EncapTemplate.VxlanPort} only, not {t.UdpDestinationPort}";
                    rewrites |= DocaRewrites.Encap;
                    a = a with
                    {
                        Encap = new DocaEncap(t.Type == TunnelType.Vxlan ? DocaTunnel.Vxlan : DocaTunnel.Gre, t.OuterSourceIp, t.OuterDestinationIp,
                            t.OuterSourceMac, t.OuterDestinationMac, t.Vni, 0, t.Ttl),
                    };
                    break;
                }
                case HeaderOpKind.DecrementTtl:
                    // The executor decrements after NAT and before encap; the shim's order is the same.
                    rewrites |= DocaRewrites.DecrementTtl;
                    break;
                case HeaderOpKind.Meter:
                    return "doca cannot apply Meter";
                default:
                    return $"doca cannot apply {op.Kind}";
            }
        }
        result = a with { Rewrites = rewrites };
        return null;
    }
}
