using System.Text;
using Offload.Packets;
using Offload.Doca.Native;

namespace Offload.Doca.Flow;

/// <summary>Public specs -> the shim's flat structs. Returns false (no exception) for a spec the shim cannot express.</summary>
internal static unsafe class ShimSpecWriter
{
    public static bool TryWrite(in DocaFlowTuple t, OflTuple* o)
    {
        *o = default;
        if (t.Source.IsV4 != t.Destination.IsV4)
            return false;
        t.Source.WriteTo(new Span<byte>(o->SrcIp, 16));
        t.Destination.WriteTo(new Span<byte>(o->DstIp, 16));
        o->SrcPort = t.SourcePort;
        o->DstPort = t.DestinationPort;
        o->IpVersion = t.Source.IsV4 ? (byte)4 : (byte)6;
        o->L4Proto = t.Protocol;
        o->Vni = t.Vni;
        return true;
    }

    public static bool TryWrite(in DocaFlowAction a, OflAction* o)
    {
        *o = default;
        if (a.Fate is < DocaFate.Port or > DocaFate.Pipe || (a.Fate == DocaFate.Pipe && a.NextPipe is null))
            return false;
        o->Fate = (uint)a.Fate;
        o->Port = a.Port;
        o->Rewrites = (uint)a.Rewrites;
        o->SrcPort = a.SourcePort;
        o->DstPort = a.DestinationPort;
        a.SourceAddress.WriteTo(new Span<byte>(o->SrcIp, 16));
        a.DestinationAddress.WriteTo(new Span<byte>(o->DstIp, 16));
        a.SourceMac.WriteTo(new Span<byte>(o->SrcMac, 6));
        a.DestinationMac.WriteTo(new Span<byte>(o->DstMac, 6));
        if ((a.Rewrites & DocaRewrites.Encap) != 0)
        {
            DocaEncap e = a.Encap;
            if (e.Tunnel == DocaTunnel.None || e.Source.IsV4 != e.Destination.IsV4)
                return false;
            o->Encap.Tunnel = (byte)e.Tunnel;
            o->Encap.IpVersion = e.Source.IsV4 ? (byte)4 : (byte)6;
            o->Encap.Ttl = e.Ttl;
            o->Encap.Vni = e.Vni;
            o->Encap.UdpSrcPort = e.UdpSourcePort;
            e.SourceMac.WriteTo(new Span<byte>(o->Encap.SrcMac, 6));
            e.DestinationMac.WriteTo(new Span<byte>(o->Encap.DstMac, 6));
            e.Source.WriteTo(new Span<byte>(o->Encap.SrcIp, 16));
            e.Destination.WriteTo(new Span<byte>(o->Encap.DstIp, 16));
        }
        if (a.NextPipe is { } next)
            o->NextPipe = (ulong)next.Handle.Pipe;
        return true;
    }

    public static bool TryWrite(in DocaEntrySpec s, OflEntrySpec* o)
    {
        if (!TryWrite(s.Match, &o->Match) || !TryWrite(s.Action, &o->Action))
            return false;
        o->Monitor = (s.Count ? 1u : 0u) | (s.AgingSeconds != 0 ? 2u : 0u);
        o->AgingSeconds = s.AgingSeconds;
        return true;
    }

    public static bool TryWrite(in DocaConnectionSpec s, OflCtSpec* o)
    {
        *o = default;
        if (!TryWrite(s.Origin, &o->Origin) || !TryWrite(s.Reply, &o->Reply) ||
            !TryWrite(s.OriginAction, &o->OriginAction) || !TryWrite(s.ReplyAction, &o->ReplyAction))
            return false;
        o->TimeoutSeconds = s.TimeoutSeconds;
        return true;
    }

    public static bool TryWrite(DocaPipeSpec s, OflPipeSpec* o)
    {
        *o = default;
        if (Encoding.UTF8.GetByteCount(s.Name) > 32 || (s.MissFate == DocaFate.Pipe && s.MissPipe is null))
            return false;
        Encoding.UTF8.GetBytes(s.Name, new Span<byte>(o->Name, 32));
        o->Kind = s.IsConnectionTracking ? 1u : 0u;
        o->MatchFields = (uint)s.MatchFields;
        o->NrEntries = s.Entries;
        o->IsRoot = s.IsRoot ? 1u : 0u;
        o->MissFate = (uint)s.MissFate;
        o->MissPort = s.MissPort;
        if (s.MissPipe is { } p)
            o->MissNextPipe = (ulong)p.Handle.Pipe;
        return true;
    }
}
