using System.Buffers.Binary;
using Microsoft.Extensions.Time.Testing;
using Offload.Actions;
using Offload.Datapath;
using Offload.Packets;
using Offload.Policy;
using Offload.Switching;
using Offload.Tests.Datapath;

namespace Offload.Tests.Switching;

/// <summary>A packet of a connection as the properties describe it (before it becomes bytes).</summary>
internal readonly record struct TestPacket(byte Protocol, NetAddress Src, ushort SrcPort, NetAddress Dst, ushort DstPort, MacAddress SrcMac, MacAddress DstMac,
    bool Syn = false, bool Ack = false, int Payload = 0, bool EchoReply = false)
{
    public byte[] ToFrame() => Protocol switch
    {
        IpProtocol.Tcp => TestFrames.Tcp(Src.ToString(), SrcPort, Dst.ToString(), DstPort, syn: Syn, ack: Ack, payload: Payload, seq: 1000, ackNo: Ack ? 5000u : 0u, srcMac: SrcMac, dstMac: DstMac),
        IpProtocol.Udp => TestFrames.Udp(Src.ToString(), SrcPort, Dst.ToString(), DstPort, payload: 16 + Payload, srcMac: SrcMac, dstMac: DstMac),
        _ => Icmp(),
    };

    private byte[] Icmp()
    {
        var f = TestFrames.IcmpEcho(Src.ToString(), Dst.ToString(), SrcPort, 1, reply: EchoReply, srcMac: SrcMac);
        DstMac.WriteTo(f);
        return f;
    }

    public override string ToString() =>
        $"{IpProtocol.Name(Protocol)} {Src}:{SrcPort} -> {Dst}:{DstPort} [{SrcMac} -> {DstMac}]{(Syn ? " SYN" : "")}{(Ack ? " ACK" : "")}{(EchoReply ? " echo-reply" : "")}";
}

/// <summary>A frame to feed the switch: bytes and ingress port name, with a description for failure messages.</summary>
internal sealed record Input(string Port, byte[] Frame, string Description)
{
    public override string ToString() => $"{Port}: {Description}";
}

/// <summary>One host's switch under a property, with the frames it emitted.</summary>
internal sealed class PropertySwitch : IDisposable
{
    public PropertySwitch(PolicySnapshot policy)
    {
        Switch = new VirtualSwitch(policy, Sink, new VirtualSwitchOptions { Backend = new() { Capacity = 1024 } }, Time);
    }

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    public CollectingSink Sink { get; } = new();
    public VirtualSwitch Switch { get; }

    public ushort Port(string name) => Switch.Ports.TryGet(name, out var n) ? n : throw new KeyNotFoundException(name);

    public (FrameResult Result, byte[] Frame) Send(Input input)
    {
        int before = Sink.Frames.Count;
        var frames = new[] { new InputFrame(PacketBuffer.CopyOf(input.Frame), Port(input.Port), before) };
        Switch.Process(frames);
        Sink.Frames.Count.Should().Be(before + 1, "every frame has exactly one result ({0})", input);
        return Sink.Last;
    }

    public void Dispose() => Switch.Dispose();
}

/// <summary>Parsing of output frames and building of the frames a receiver would send back.</summary>
internal static class PropertyFrames
{
    /// <summary>The frame's parse and, for a tunnel frame, its inner frame's parse (else the same parse).</summary>
    public static void Parse(ReadOnlySpan<byte> frame, out ParsedPacket outer, out ParsedPacket inner)
    {
        PacketParser.Parse(frame, out outer);
        inner = outer;
        if (outer.IsValid && outer.Tunnel != TunnelKind.None)
            PacketParser.Parse(frame.Slice(outer.InnerOffset), out inner);
    }

    public static Input Tunnel(byte[] inner, uint vni, TunnelType type, NetAddress outerSrc, MacAddress outerSrcMac, string description) =>
        new("uplink",
            type == TunnelType.Gre
                ? TestFrames.Gre(inner, vni, outerSrc.ToString(), RandomPolicies.HostIp.ToString(), outerSrcMac, RandomPolicies.HostMac)
                : TestFrames.Vxlan(inner, vni, outerSrc.ToString(), RandomPolicies.HostIp.ToString(), outerSrcMac, RandomPolicies.HostMac),
            $"{type} vni {vni} from {outerSrc}: {description}");

    /// <summary>
    /// The frame the receiver of <paramref name="output"/> (emitted on <paramref name="outPort"/>) sends
    /// back: addresses and ports swapped, TCP SYN+ACK for a SYN, an echo reply for an echo request. A
    /// tunnelled output is answered by a tunnel frame from the same remote host in <paramref name="replyVni"/>;
    /// a public one by a plain frame from the gateway. Null when the output is not something a receiver answers.
    /// </summary>
    public static Input? Reply(PolicySnapshot policy, string outPort, byte[] output, uint replyVni, TunnelType tunnel)
    {
        Parse(output, out var outer, out var inner);
        if (!inner.IsValid || !inner.IsIp)
            return null;
        bool syn = inner.Protocol == IpProtocol.Tcp && (inner.TcpFlags & TcpFlags.Syn) != 0;
        if (outPort != "uplink")
        {
            var pk = new TestPacket(inner.Protocol, inner.DstIp, inner.DstPort, inner.SrcIp, inner.SrcPort, inner.DstMac, RandomPolicies.GatewayMac,
                Syn: syn, Ack: inner.Protocol == IpProtocol.Tcp, EchoReply: inner.Protocol == IpProtocol.Icmp);
            pk = IcmpFix(pk, inner);
            return new Input(outPort, pk.ToFrame(), "reply " + pk);
        }
        if (outer.Tunnel != TunnelKind.None)
        {
            var pk = new TestPacket(inner.Protocol, inner.DstIp, inner.DstPort, inner.SrcIp, inner.SrcPort, inner.DstMac, RandomPolicies.GatewayMac,
                Syn: syn, Ack: inner.Protocol == IpProtocol.Tcp, EchoReply: inner.Protocol == IpProtocol.Icmp);
            pk = IcmpFix(pk, inner);
            var remote = policy.Hosts.First(h => h.Underlay.Ip == outer.DstIp);
            return Tunnel(pk.ToFrame(), replyVni, tunnel, remote.Underlay.Ip, remote.Underlay.Mac, "reply " + pk);
        }
        var pub = new TestPacket(inner.Protocol, inner.DstIp, inner.DstPort, inner.SrcIp, inner.SrcPort, RandomPolicies.GatewayMac, RandomPolicies.HostMac,
            Syn: syn, Ack: inner.Protocol == IpProtocol.Tcp, EchoReply: inner.Protocol == IpProtocol.Icmp);
        pub = IcmpFix(pub, inner);
        return new Input("uplink", pub.ToFrame(), "public reply " + pub);
    }

    // ICMP: SrcPort carries the identifier (kept by the reply), DstPort the type/code.
    private static TestPacket IcmpFix(TestPacket p, in ParsedPacket request) =>
        p.Protocol == IpProtocol.Icmp ? p with { SrcPort = request.SrcPort } : p;

    /// <summary>The bytes with the IPv4 and L4 checksums (and, when <paramref name="maskSourcePort"/>, the L4 source port or ICMP identifier) zeroed.</summary>
    public static byte[] Normalized(byte[] frame, bool maskSourcePort)
    {
        var copy = (byte[])frame.Clone();
        Parse(copy, out var outer, out var inner);
        int baseOffset = outer.Tunnel != TunnelKind.None ? outer.InnerOffset : 0;
        if (!inner.IsValid || !inner.IsIp)
            return copy;
        if (outer.Tunnel != TunnelKind.None)
            BinaryPrimitives.WriteUInt16BigEndian(copy.AsSpan(outer.L3Offset + 10), 0);
        if (inner.L3 == L3Kind.IPv4)
            BinaryPrimitives.WriteUInt16BigEndian(copy.AsSpan(baseOffset + inner.L3Offset + 10), 0);
        int l4 = baseOffset + inner.L4Offset;
        switch (inner.Protocol)
        {
            case IpProtocol.Tcp:
                copy[l4 + 16] = copy[l4 + 17] = 0;
                if (maskSourcePort)
                    copy[l4] = copy[l4 + 1] = 0;
                break;
            case IpProtocol.Udp:
                copy[l4 + 6] = copy[l4 + 7] = 0;
                if (maskSourcePort)
                    copy[l4] = copy[l4 + 1] = 0;
                break;
            case IpProtocol.Icmp:
                copy[l4 + 2] = copy[l4 + 3] = 0;
                if (maskSourcePort)
                    copy[l4 + 4] = copy[l4 + 5] = 0;
                break;
        }
        return copy;
    }

    public static string Hex(byte[] b) => Convert.ToHexString(b);

    public static ActionVerdict Verdict(in FrameResult r) => r.Verdict;
}
