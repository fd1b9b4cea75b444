using Microsoft.Extensions.Time.Testing;
using Offload.Conntrack;
using Offload.Flows;
using Offload.Packets;

namespace Offload.Tests.Conntrack;

/// <summary>A table on a fake clock with an observer recording removals, plus packet builders that set
/// <see cref="ParsedPacket"/> fields directly (no parser involved).</summary>
internal sealed class ConntrackFixture
{
    public static readonly NetAddress Client = NetAddress.Parse("10.1.0.1");
    public static readonly NetAddress Server = NetAddress.Parse("10.1.0.2");
    public const uint Vni = 100;

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    public ConntrackTable Table { get; }
    public RecordingObserver Removed { get; } = new();

    public ConntrackFixture(ConntrackOptions? options = null)
    {
        Table = new ConntrackTable(options ?? new ConntrackOptions(), Time);
        Table.Observer = Removed;
    }

    public void Advance(double seconds) => Time.Advance(TimeSpan.FromTicks((long)Math.Round(seconds * TimeSpan.TicksPerSecond)));

    public static FlowKey Key(byte protocol, ushort srcPort = 40000, ushort dstPort = 80, ushort inPort = 1) =>
        new(Client, srcPort, Server, dstPort, protocol, inPort, Vni);

    public static FlowKey Invert(in FlowKey key)
    {
        key.TryInvert(2, key.Vni, out var reply).Should().BeTrue();
        return reply;
    }

    public static ParsedPacket Packet(in FlowKey key, TcpFlags flags = TcpFlags.None, int frameLength = 100)
    {
        var p = new ParsedPacket
        {
            FrameLength = frameLength,
            L3 = key.IsV4 ? L3Kind.IPv4 : L3Kind.IPv6,
            SrcIp = key.SrcIp,
            DstIp = key.DstIp,
            Protocol = key.Protocol,
            HasPorts = true,
            SrcPort = key.SrcPort,
            DstPort = key.DstPort,
            TcpFlags = flags,
        };
        if (key.Protocol is IpProtocol.Icmp or IpProtocol.IcmpV6)
        {
            p.IcmpType = (byte)(key.DstPort >> 8);
            p.IcmpCode = (byte)key.DstPort;
        }
        return p;
    }

    /// <summary>An ICMP error from <paramref name="from"/> to <paramref name="to"/> quoting <paramref name="quoted"/>.</summary>
    public static ParsedPacket IcmpError(NetAddress from, NetAddress to, in FlowKey quoted, byte type = 3, byte code = 3)
    {
        return new ParsedPacket
        {
            FrameLength = 70,
            L3 = from.IsV4 ? L3Kind.IPv4 : L3Kind.IPv6,
            SrcIp = from,
            DstIp = to,
            Protocol = from.IsV4 ? IpProtocol.Icmp : IpProtocol.IcmpV6,
            HasPorts = true,
            SrcPort = 0,
            DstPort = (ushort)((type << 8) | code),
            IcmpType = type,
            IcmpCode = code,
            IsIcmpError = true,
            InnerSrcIp = quoted.SrcIp,
            InnerDstIp = quoted.DstIp,
            InnerProtocol = quoted.Protocol,
            InnerSrcPort = quoted.SrcPort,
            InnerDstPort = quoted.DstPort,
        };
    }

    /// <summary>Creates a connection from <paramref name="original"/>'s first packet, asserting success.</summary>
    public ConnectionId Create(in FlowKey original, TcpFlags flags = TcpFlags.None)
    {
        var reply = Invert(original);
        Table.TryCreate(original, reply, Packet(original, flags), out var id).Should().Be(ConntrackCreateResult.Created);
        return id;
    }

    /// <summary>A packet of the connection in <paramref name="direction"/> (reply packets carry the reply key).</summary>
    public ConntrackUpdate Send(ConnectionId id, ConnDirection direction, TcpFlags flags = TcpFlags.None, int frameLength = 100)
    {
        var info = Table.Get(id);
        var key = direction == ConnDirection.Original ? info.Original : info.Reply;
        return Table.Update(id, direction, Packet(key, flags, frameLength));
    }

    public TimeSpan Remaining(ConnectionId id) => Table.Get(id).TimeoutRemaining;
}

internal sealed class RecordingObserver : IConntrackObserver
{
    public List<(ConnectionId Id, ConnectionInfo Info, ConntrackRemoveReason Reason)> Events { get; } = [];

    public void OnRemoved(ConnectionId id, in ConnectionInfo info, ConntrackRemoveReason reason) => Events.Add((id, info, reason));
}
