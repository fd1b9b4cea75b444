using System.Runtime.CompilerServices;
using Offload.Conntrack;
using Offload.Flows;
using Offload.Packets;
using Xunit.Abstractions;

namespace Offload.Tests.Conntrack;

public class ConntrackTableCapacityTests(ITestOutputHelper output)
{
    private static ConntrackFixture Small(int max) => new(new ConntrackOptions { MaxEntries = max, InitialCapacity = 1 });

    private static ConnectionId AssuredUdp(ConntrackFixture f, ushort port)
    {
        var id = f.Create(ConntrackFixture.Key(IpProtocol.Udp, port));
        f.Send(id, ConnDirection.Reply);
        return id;
    }

    [Fact]
    public void Full_EarlyDropsTheOldestNotAssured_NeverAnAssured()
    {
        var f = Small(4);
        var assuredUdp = AssuredUdp(f, 1);
        var tcp = f.Create(ConntrackFixture.Key(IpProtocol.Tcp, 2), TcpFlags.Syn);
        f.Send(tcp, ConnDirection.Reply, TcpFlags.Syn | TcpFlags.Ack);
        f.Send(tcp, ConnDirection.Original, TcpFlags.Ack);
        var oldest = f.Create(ConntrackFixture.Key(IpProtocol.Udp, 3));
        var younger = f.Create(ConntrackFixture.Key(IpProtocol.Udp, 4));
        f.Advance(3);
        f.Send(assuredUdp, ConnDirection.Original);
        f.Table.Get(assuredUdp).Assured.Should().BeTrue();
        f.Table.Get(tcp).Assured.Should().BeTrue();

        var newcomer = f.Create(ConntrackFixture.Key(IpProtocol.Udp, 5));

        f.Removed.Events.Should().ContainSingle().Which.Should().Match<(ConnectionId Id, ConnectionInfo Info, ConntrackRemoveReason Reason)>(
            e => e.Id == oldest && e.Reason == ConntrackRemoveReason.EarlyDrop);
        f.Table.Count.Should().Be(4);
        f.Create(ConntrackFixture.Key(IpProtocol.Udp, 6));
        f.Removed.Events.Select(e => e.Id).Should().Equal(oldest, younger);
        f.Create(ConntrackFixture.Key(IpProtocol.Udp, 7));
        f.Removed.Events.Select(e => e.Id).Should().Equal(oldest, younger, newcomer);
        f.Table.Contains(assuredUdp).Should().BeTrue();
        f.Table.Contains(tcp).Should().BeTrue();
    }

    [Fact]
    public void Full_WhenEveryEntryIsAssured_RefusesWithFull()
    {
        var f = Small(3);
        var ids = new[] { AssuredUdp(f, 1), AssuredUdp(f, 2), AssuredUdp(f, 3) };
        f.Advance(3);
        foreach (var id in ids)
            f.Send(id, ConnDirection.Original).State.Should().Be(ConnState.Assured);

        var key = ConntrackFixture.Key(IpProtocol.Udp, 9);
        f.Table.TryCreate(key, ConntrackFixture.Invert(key), ConntrackFixture.Packet(key), out var none)
            .Should().Be(ConntrackCreateResult.Full);
        none.IsNone.Should().BeTrue();
        f.Table.Count.Should().Be(3);
        f.Removed.Events.Should().BeEmpty();

        // Room again once one expires.
        f.Advance(120);
        f.Table.Expire().Should().Be(3);
        f.Table.TryCreate(key, ConntrackFixture.Invert(key), ConntrackFixture.Packet(key), out _).Should().Be(ConntrackCreateResult.Created);
    }

    [Fact]
    public void Arrays_GrowOnDemandUpToMaxEntries()
    {
        var f = Small(100);
        f.Table.Capacity.Should().Be(1);
        for (ushort p = 0; p < 100; p++)
            f.Create(ConntrackFixture.Key(IpProtocol.Udp, p));
        f.Table.Capacity.Should().Be(100);
        f.Table.Count.Should().Be(100);
        f.Table.CountInState(ConnState.Unreplied).Should().Be(100);
    }

    [Fact]
    public void Memory_PerConnection_ForOneMillionConnections()
    {
        const int n = 1_000_000;
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        long before = GC.GetTotalMemory(forceFullCollection: true);
        var table = new ConntrackTable(new ConntrackOptions { MaxEntries = n }, time);
        var client = NetAddress.Parse("10.0.0.1");
        var packet = new ParsedPacket { FrameLength = 100, Protocol = IpProtocol.Udp };
        for (int i = 0; i < n; i++)
        {
            var original = new FlowKey(client, (ushort)i, NetAddress.FromV4(0x0A000000u + 2 + (uint)(i >> 16)), 53, IpProtocol.Udp, 1, 100);
            original.TryInvert(2, 100, out var reply);
            // No assertion library call per iteration: it would allocate and dominate the run.
            if (table.TryCreate(original, reply, packet, out _) != ConntrackCreateResult.Created)
                throw new InvalidOperationException($"create {i} failed");
        }
        long after = GC.GetTotalMemory(forceFullCollection: true);
        GC.KeepAlive(table);

        table.Count.Should().Be(n);
        double managed = (after - before) / (double)n;
        double slots = table.AllocatedBytes / (double)n;
        int entry = Unsafe.SizeOf<ConntrackEntry>();
        output.WriteLine($"entry struct: {entry} B; slots (unmanaged) {slots:F1} B + managed (index, wheel) {managed:F1} B per connection");
        entry.Should().Be(192, "the slot is three cache lines, the per-packet fields on the first");
        slots.Should().BeGreaterThanOrEqualTo(entry).And.BeLessThan(2 * entry, "slots grow by doubling up to MaxEntries");
        managed.Should().BeGreaterThan(0, "the index lives on the managed heap");
    }
}
