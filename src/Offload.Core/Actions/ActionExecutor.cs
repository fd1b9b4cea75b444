using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Offload.Packets;

namespace Offload.Actions;

/// <summary>
/// Applies an <see cref="ActionProgram"/> to a frame in place. Never allocates and never throws on the
/// packet path: a frame that does not fit an operation (too short for the header the parse claims, a
/// NAT address of the other IP family…) is dropped with a reason instead.
/// </summary>
public static class ActionExecutor
{
    /// <summary>
    /// Runs every operation of <paramref name="program"/> on <paramref name="frame"/>.
    /// </summary>
    /// <param name="program">The flow's shared program.</param>
    /// <param name="nat">The flow's NAT translation (used by the NAT op).</param>
    /// <param name="frame">The frame; decap and encap move its <see cref="PacketBuffer.Offset"/> and length.</param>
    /// <param name="packet">
    /// The parse of the frame to rewrite. For a plain frame its offsets are relative to the frame start.
    /// For a tunnel frame it is the parse of the inner frame, with offsets relative to the inner frame's
    /// start, which lies <paramref name="tunnelHeaderLength"/> bytes into the frame. An inner parse with
    /// an IP header at offset 0 is an IP packet carried by GRE without Ethernet. The executor keeps the
    /// rewritten fields (MACs, addresses, ports, TTL) and the offsets up to date: after decap offsets are
    /// relative to the new frame start; after encap they still describe the inner frame, which then
    /// starts <see cref="ActionOutcome.OuterHeaderLength"/> bytes into the frame.
    /// </param>
    /// <param name="tunnelHeaderLength">Length of the outer headers before the inner frame (the outer
    /// parse's <see cref="ParsedPacket.InnerOffset"/>), 0 for a plain frame.</param>
    /// <param name="meters">Meters charged by meter ops; null = no QoS (meter ops pass).</param>
    /// <param name="nowTicks">Current time in <see cref="TimeProvider.GetTimestamp"/> ticks.</param>
    /// <returns>The verdict. On a drop the frame's content is unspecified (operations before the dropping
    /// one have run).</returns>
    public static ActionOutcome Apply(ActionProgram program, in NatRewrite nat, ref PacketBuffer frame, ref ParsedPacket packet,
        int tunnelHeaderLength, MeterTable? meters, long nowTicks)
    {
        if (program is null)
            return ActionOutcome.Drop(DropReason.ActionMismatch);
        if (program.Verdict == ActionVerdict.Drop)
            return ActionOutcome.Drop(program.DropReason);
        byte[]? array = frame.Array;
        if (array is null || frame.Offset < 0 || frame.Length < 0 || frame.Length > array.Length - frame.Offset
            || tunnelHeaderLength < 0 || tunnelHeaderLength > frame.Length)
            return ActionOutcome.Drop(DropReason.ActionMismatch);

        int outer = tunnelHeaderLength;
        var ops = program.OpArray;
        for (int i = 0; i < ops.Length; i++)
        {
            ref readonly HeaderOp op = ref ops[i];
            DropReason reason = DropReason.None;
            switch (op.Kind)
            {
                case HeaderOpKind.Decapsulate:
                    reason = Tunnels.Decapsulate(ref frame, ref packet, ref outer);
                    break;
                case HeaderOpKind.SetSourceMac:
                    reason = SetMac(ref frame, ref packet, outer, 6, op.Mac);
                    break;
                case HeaderOpKind.SetDestinationMac:
                    reason = SetMac(ref frame, ref packet, outer, 0, op.Mac);
                    break;
                case HeaderOpKind.Nat:
                    reason = NatTranslator.Apply(in nat, array.AsSpan(frame.Offset + outer, frame.Length - outer), ref packet);
                    break;
                case HeaderOpKind.DecrementTtl:
                    reason = DecrementTtl(array.AsSpan(frame.Offset + outer, frame.Length - outer), ref packet);
                    break;
                case HeaderOpKind.Meter:
                    if (meters is not null && !meters.TryConsume(op.MeterId, frame.Length, nowTicks))
                        reason = DropReason.Qos;
                    break;
                case HeaderOpKind.Encapsulate:
                    reason = Tunnels.Encapsulate(op.Template!, ref frame, in packet, ref outer);
                    break;
            }
            if (reason != DropReason.None)
                return ActionOutcome.Drop(reason);
        }
        return ActionOutcome.Output(program.OutPort, outer);
    }

    private static DropReason SetMac(ref PacketBuffer frame, ref ParsedPacket packet, int outer, int at, MacAddress mac)
    {
        // An IP packet carried by GRE without Ethernet has no MAC to set until decap synthesises one.
        if (frame.Length - outer < 14 || (packet.IsIp && packet.L3Offset < 14))
            return DropReason.TruncatedEthernet;
        mac.WriteTo(frame.Array.AsSpan(frame.Offset + outer + at, 6));
        if (at == 0)
            packet.DstMac = mac;
        else
            packet.SrcMac = mac;
        return DropReason.None;
    }

    private static DropReason DecrementTtl(Span<byte> f, ref ParsedPacket packet)
    {
        int l3 = packet.L3Offset;
        if (packet.L3 == L3Kind.IPv4)
        {
            if (!Fits(f, l3, 20))
                return DropReason.BadIpv4Header;
            byte ttl = f[l3 + 8];
            if (ttl <= 1)
                return DropReason.TtlExceeded;
            ushort oldWord = BinaryPrimitives.ReadUInt16BigEndian(f.Slice(l3 + 8));
            f[l3 + 8] = (byte)(ttl - 1);
            ushort checksum = BinaryPrimitives.ReadUInt16BigEndian(f.Slice(l3 + 10));
            BinaryPrimitives.WriteUInt16BigEndian(f.Slice(l3 + 10), Checksum.Update16(checksum, oldWord, (ushort)(oldWord - 0x100)));
            packet.Ttl = (byte)(ttl - 1);
        }
        else if (packet.L3 == L3Kind.IPv6)
        {
            if (!Fits(f, l3, 40))
                return DropReason.BadIpv6Header;
            byte hops = f[l3 + 7];
            if (hops <= 1)
                return DropReason.TtlExceeded;
            f[l3 + 7] = (byte)(hops - 1);
            packet.Ttl = (byte)(hops - 1);
        }
        return DropReason.None;
    }

    /// <summary>True when <paramref name="length"/> bytes at <paramref name="offset"/> lie inside <paramref name="f"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool Fits(ReadOnlySpan<byte> f, int offset, int length) =>
        (uint)offset <= (uint)f.Length && (uint)length <= (uint)(f.Length - offset);
}
