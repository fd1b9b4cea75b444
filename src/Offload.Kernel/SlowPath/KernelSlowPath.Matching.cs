using Offload.Actions;
using Offload.Conntrack;
using Offload.Datapath;
using Offload.Flows;
using Offload.Kernel.Conntrack;
using Offload.Kernel.Nflog;
using Offload.Packets;
using Offload.Switching;

namespace Offload.Kernel.SlowPath;

// Matching what the kernel did to the request that caused it, and turning it into a decision.
public sealed partial class KernelSlowPath
{
    private void OnKernelFrame(KernelDevice device, ReadOnlySpan<byte> frame)
    {
        PacketParser.Parse(frame, out ParsedPacket p);
        if (!p.IsIp || !p.IsValid)
            return; // the kernel's own chatter on the link (IPv6 router solicitations and the like)
        KernelPendingDecision? pending;
        KernelConntrackEntry? entry;
        if (p.IsIcmpError)
        {
            pending = FindRelated(in p);
            entry = pending is null ? null : _conntrack.TryGet(ConntrackTuple.FromFlowKey(pending.Request.Tracked.Original), isReplyTuple: false);
        }
        else
        {
            pending = FindByConntrack(in p, out entry);
        }
        if (pending is null || entry is null)
        {
            Interlocked.Increment(ref _unmatched);
            return;
        }
        Forget(pending);
        Complete(pending, Forwarded(pending, entry.Value, device, frame, in p));
    }

    // The output's tuple inverted is the entry's reply tuple (or its original one, for a packet of the reply direction);
    // the entry's other tuple is the one the packet had when it went in.
    private KernelPendingDecision? FindByConntrack(in ParsedPacket p, out KernelConntrackEntry? entry)
    {
        entry = null;
        if (_byTuple.Count == 0 || !FlowKey.FromPacket(p, 0, 0).TryInvert(0, 0, out FlowKey inverted))
            return null;
        var seen = ConntrackTuple.FromFlowKey(inverted);
        entry = _conntrack.TryGet(seen, isReplyTuple: true);
        if (entry is not { } e)
            return null;
        KernelPendingDecision? pending;
        if (TryInputTuple(e, seen, out ConntrackTuple input))
            return _byTuple.TryGetValue(input, out pending) ? pending : null;
        // A shape the inversion does not reproduce exactly: either direction.
        return _byTuple.TryGetValue(e.Original, out pending) || _byTuple.TryGetValue(e.Reply, out pending) ? pending : null;
    }

    /// <summary>
    /// The tuple a packet that left the kernel as part of <paramref name="entry"/> had when it was written in, from the
    /// output's own tuple inverted (<paramref name="outputInverted"/>); false when that is neither of the entry's tuples.
    /// </summary>
    /// <remarks>
    /// Both directions of one connection can be in the kernel at once (a retransmitted SYN and the SYN-ACK, a data
    /// segment and an ACK), and the entry alone does not say which of them an output belongs to. Taken for the other
    /// one, each output fails verification and is sent as the kernel's frame with nothing tracked, so the datapath's
    /// conntrack never learns a packet the endpoints then act on: after a handshake it stays SYN_SENT and drops every
    /// later packet of the connection as invalid. The output's direction settles it: a packet of the original direction
    /// leaves with the reply tuple inverted, one of the reply direction with the original tuple inverted.
    /// </remarks>
    internal static bool TryInputTuple(in KernelConntrackEntry entry, in ConntrackTuple outputInverted, out ConntrackTuple input)
    {
        if (outputInverted == entry.Reply)
        {
            input = entry.Original;
            return true;
        }
        if (outputInverted == entry.Original)
        {
            input = entry.Reply;
            return true;
        }
        input = default;
        return false;
    }

    // An ICMP error's own tuple names no entry; NAT rewrites its addresses but never the IPv4 identification. IPv6 has
    // none: an ICMPv6 error is matched by its type, code and length, which NAT of the same family keeps.
    private KernelPendingDecision? FindRelated(in ParsedPacket p)
    {
        foreach (KernelPendingDecision pending in _related)
        {
            ParsedPacket q = pending.Request.Packet;
            if (q.L3 != p.L3 || q.Protocol != p.Protocol || q.DstPort != p.DstPort)
                continue;
            if (p.L3 == L3Kind.IPv4 ? q.IpId == p.IpId : q.L3End - q.L4Offset == p.L3End - p.L4Offset)
                return pending;
        }
        return null;
    }

    private void OnDropLogged(in NflogRecord record)
    {
        KernelPendingDecision? pending = FindDropped(record);
        if (pending is null)
        {
            Interlocked.Increment(ref _unmatched);
            return;
        }
        Forget(pending);
        ReleasePin(pending);
        Interlocked.Increment(ref _dropped);
        var provenance = new KernelProvenance { Rule = record.Prefix };
        DropReason reason = record.Reason == DropReason.None ? DropReason.Policy : record.Reason;
        bool dropFlow = pending.Request.Connection.IsNone && !pending.Request.IsRelated;
        Complete(pending, SlowPathDecision.Drop(reason, installDropFlow: dropFlow, provenance: provenance));
    }

    // By the logged tuple; a drop after DNAT logs the translated destination, so otherwise by the device it went into
    // and the source, which the forward hook has not translated yet.
    private KernelPendingDecision? FindDropped(in NflogRecord record)
    {
        if (!record.HasTuple)
            return null;
        if (_byTuple.TryGetValue(record.Tuple, out KernelPendingDecision? exact))
            return exact;
        foreach (KernelPendingDecision p in _byTuple.Values)
        {
            if (p.Device.Index == record.InputInterfaceIndex && p.Tuple.Source == record.Tuple.Source
                && p.Tuple.SourcePort == record.Tuple.SourcePort && p.Tuple.Protocol == record.Tuple.Protocol)
                return p;
        }
        foreach (KernelPendingDecision p in _related)
        {
            if (p.Device.Index == record.InputInterfaceIndex)
                return p;
        }
        return null;
    }

    private SlowPathDecision Forwarded(KernelPendingDecision pending, in KernelConntrackEntry entry, KernelDevice device, ReadOnlySpan<byte> kernelFrame,
        in ParsedPacket kernelParse)
    {
        Interlocked.Increment(ref _forwarded);
        SlowPathRequest request = pending.Request;
        var provenance = new KernelProvenance
        {
            ConntrackId = entry.Id, Original = entry.Original, Reply = entry.Reply, LoadBalancer = pending.Pin?.LoadBalancer.Config.Name,
        };
        bool original = request.IsRelated ? request.Direction == ConnDirection.Original : pending.Tuple == entry.Original;
        if (!_state.Builder.TryBuild(entry.Original, entry.Reply, out KernelConnectionFlows flows))
            return KernelFrameOnly(pending, device, kernelFrame, in kernelParse, provenance, learned: null);
        FlowAction action = original ? flows.Original : flows.Reply;
        byte[]? learned = Apply(action, pending, out ActionOutcome outcome);
        bool verified = learned is not null && outcome.OutPort == OutPortOf(device, action) && SameFrame(learned, outcome, kernelFrame);
        if (!verified)
            return KernelFrameOnly(pending, device, kernelFrame, in kernelParse, provenance, learned);
        Interlocked.Increment(ref _verified);
        OnKernelOutput?.Invoke(new KernelOutput(request, kernelFrame.ToArray(), learned, Verified: true));
        // A known connection keeps the datapath's own keys; a first packet gets the kernel's other direction.
        FlowKey? replyKey = request.IsRelated ? null
            : request.Connection.IsNone ? (original ? flows.ReplyKey : flows.OriginalKey)
            : request.Direction == ConnDirection.Original ? request.Tracked.Reply : request.Tracked.Original;
        return new SlowPathDecision
        {
            Verdict = ActionVerdict.Output,
            Action = action,
            ReplyKey = replyKey,
            ReplyAction = original ? flows.Reply : flows.Original,
            Track = !request.IsRelated,
            Provenance = provenance,
        };
    }

    // A tunnel device stands for the uplink, where the action encapsulates; any other device is its own port.
    private static ushort OutPortOf(KernelDevice device, in FlowAction action)
    {
        if (!device.IsTunnel)
            return device.OutPort;
        foreach (HeaderOp op in action.Program.Ops)
        {
            if (op.Kind == HeaderOpKind.Encapsulate)
                return PortRegistry.Uplink;
        }
        return 0;
    }

    // The learned action on a copy of the frame the datapath holds, as the datapath will run it (no meters: QoS is
    // the fast path's, not the kernel's).
    private byte[]? Apply(in FlowAction action, KernelPendingDecision pending, out ActionOutcome outcome)
    {
        PacketBuffer buffer = PacketBuffer.CopyOf(pending.Frame);
        ParsedPacket parse = pending.Request.Packet;
        outcome = ActionExecutor.Apply(action.Program, action.Nat, ref buffer, ref parse, pending.Request.TunnelHeaderLength, null, _time.GetTimestamp());
        return outcome.IsDrop ? null : buffer.Span.ToArray();
    }

    // Byte-equal to the kernel's frame; after encapsulation the inner frame is compared (the tunnel device carries it
    // bare). Ethernet padding of the received frame, which the kernel trims, is not a difference.
    private static bool SameFrame(byte[] learned, in ActionOutcome outcome, ReadOnlySpan<byte> kernel)
    {
        ReadOnlySpan<byte> ours = learned.AsSpan(outcome.OuterHeaderLength);
        if (ours.Length < kernel.Length)
            return false;
        if (ours.Length > kernel.Length && !IsPadding(ours, kernel.Length))
            return false;
        return ours[..kernel.Length].SequenceEqual(kernel);
    }

    private static bool IsPadding(ReadOnlySpan<byte> frame, int kernelLength)
    {
        PacketParser.Parse(frame, out ParsedPacket p);
        return p.IsIp && p.L3End <= kernelLength;
    }

    // The kernel's own frame goes out in place of the request, and nothing is tracked or installed: the kernel keeps
    // deciding this connection's packets (see the class remarks).
    private SlowPathDecision KernelFrameOnly(KernelPendingDecision pending, KernelDevice device, ReadOnlySpan<byte> kernelFrame, in ParsedPacket kernelParse,
        KernelProvenance provenance, byte[]? learned)
    {
        Interlocked.Increment(ref _mismatches);
        ReleasePin(pending);
        byte[] response = kernelFrame.ToArray();
        if (device.IsTunnel && !TryEncapsulate(ref response, in kernelParse))
            return SlowPathDecision.Drop(DropReason.ActionMismatch, provenance: provenance);
        OnKernelOutput?.Invoke(new KernelOutput(pending.Request, kernelFrame.ToArray(), learned, Verified: false));
        return new SlowPathDecision
        {
            Verdict = ActionVerdict.Output, Track = false, Response = response, ResponsePort = device.OutPort, Provenance = provenance,
        };
    }

    private bool TryEncapsulate(ref byte[] frame, in ParsedPacket parse)
    {
        CompiledPolicy policy = _state.Builder.Policy;
        CompiledPort? remote = policy.PortByIp(parse.DstIp);
        if (remote is null || remote.IsLocal)
            return false;
        ActionProgram program = ActionProgram.CreateBuilder().Encapsulate(policy.TunnelTo(remote.Host, remote.Network)).Output(PortRegistry.Uplink).Build();
        PacketBuffer buffer = PacketBuffer.CopyOf(frame);
        ParsedPacket p = parse;
        ActionOutcome outcome = ActionExecutor.Apply(program, default, ref buffer, ref p, 0, null, _time.GetTimestamp());
        if (outcome.IsDrop)
            return false;
        frame = buffer.Span.ToArray();
        return true;
    }
}
