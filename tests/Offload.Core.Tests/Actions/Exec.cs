using Offload.Actions;
using Offload.Packets;

namespace Offload.Tests.Actions;

/// <summary>Runs a program on a copy of a frame (with headroom) and returns what came out.</summary>
internal static class Exec
{
    public sealed record Result(ActionOutcome Outcome, PacketBuffer Buffer, ParsedPacket Packet)
    {
        public byte[] Bytes => Buffer.Span.ToArray();
    }

    public static Result Run(ActionProgram program, NatRewrite nat, byte[] frame, int headroom = PacketBuffer.DefaultHeadroom,
        MeterTable? meters = null, long now = 0)
    {
        var buffer = PacketBuffer.CopyOf(frame, headroom);
        var packet = TestParse.Frame(frame);
        var outcome = ActionExecutor.Apply(program, in nat, ref buffer, ref packet, 0, meters, now);
        return new Result(outcome, buffer, packet);
    }

    /// <summary>Runs on a tunnel frame: the packet is the inner parse, the tunnel header length the outer InnerOffset.</summary>
    public static Result RunTunnel(ActionProgram program, NatRewrite nat, byte[] frame)
    {
        var buffer = PacketBuffer.CopyOf(frame);
        var (outer, inner) = TestParse.Tunnel(frame);
        var outcome = ActionExecutor.Apply(program, in nat, ref buffer, ref inner, outer.InnerOffset, null, 0);
        return new Result(outcome, buffer, inner);
    }

    public static ActionProgram Output(Action<ActionProgramBuilder> ops, ushort port = 1)
    {
        var b = ActionProgram.CreateBuilder();
        ops(b);
        return b.Output(port).Build();
    }
}
