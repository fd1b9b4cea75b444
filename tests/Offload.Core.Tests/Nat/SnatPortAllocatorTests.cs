using CsCheck;
using Offload.Flows;
using Offload.Nat;
using Offload.Packets;

namespace Offload.Tests.Nat;

public class SnatPortAllocatorTests
{
    private static readonly NetAddress Public = NetAddress.Parse("203.0.113.5");

    private static FlowKey Key(int i, byte proto = IpProtocol.Tcp) => new(
        NetAddress.FromV4(0x0A01_0000u + (uint)(i % 4096)), (ushort)(1024 + i % 50000),
        NetAddress.Parse("198.51.100.1"), 443, proto, 1, 100);

    [Theory]
    [InlineData(1024, 1024)]
    [InlineData(1000, 1063)]
    [InlineData(1000, 1064)]
    [InlineData(1024, 2047)]
    [InlineData(60000, 65535)]
    public void TryAllocate_ExhaustsExactlyAtRangeSize_WithinRange_Distinct(ushort first, ushort last)
    {
        var a = new SnatPortAllocator(Public, first, last);
        var seen = new HashSet<ushort>();
        for (int i = 0; i < a.Capacity; i++)
        {
            a.TryAllocate(Key(i), out ushort port).Should().BeTrue();
            port.Should().BeInRange(first, last);
            seen.Add(port).Should().BeTrue("port {0} handed out twice", port);
        }
        a.InUse(IpProtocol.Tcp).Should().Be(last - first + 1);
        a.TryAllocate(Key(999_999), out _).Should().BeFalse();
    }

    [Fact]
    public void Release_MakesThePortReusable()
    {
        var a = new SnatPortAllocator(Public, 5000, 5003);
        var ports = new List<ushort>();
        for (int i = 0; i < 4; i++)
        {
            a.TryAllocate(Key(i), out ushort p).Should().BeTrue();
            ports.Add(p);
        }
        a.Release(IpProtocol.Tcp, ports[2]).Should().BeTrue();
        a.Release(IpProtocol.Tcp, ports[2]).Should().BeFalse("already free");
        a.Release(IpProtocol.Tcp, 4999).Should().BeFalse("outside the range");
        a.TryAllocate(Key(77), out ushort again).Should().BeTrue();
        again.Should().Be(ports[2]);
    }

    [Fact]
    public void TryAllocate_TcpAndUdp_AreIndependent()
    {
        var a = new SnatPortAllocator(Public, 7000, 7001);
        a.TryAllocate(Key(1), out _).Should().BeTrue();
        a.TryAllocate(Key(2), out _).Should().BeTrue();
        a.TryAllocate(Key(3), out _).Should().BeFalse();
        a.TryAllocate(Key(3, IpProtocol.Udp), out ushort udp).Should().BeTrue();
        udp.Should().BeInRange(7000, 7001);
        a.InUse(IpProtocol.Tcp).Should().Be(2);
        a.InUse(IpProtocol.Udp).Should().Be(1);
    }

    [Fact]
    public void TryAllocate_StartsFromFlowHash_SpreadsAcrossRange()
    {
        var a = new SnatPortAllocator(Public, 1024, 65535);
        var ports = new List<int>();
        for (int i = 0; i < 100; i++)
        {
            a.TryAllocate(Key(i), out ushort p).Should().BeTrue();
            ports.Add(p);
        }
        ports.Max().Should().BeGreaterThan(40_000);
        ports.Min().Should().BeLessThan(25_000);
    }

    [Fact]
    public void RandomAllocateReleaseSequences_NeverHandOutAPortInUse()
    {
        var op = Gen.Select(Gen.Bool, Gen.Int[0, 2], Gen.Int);
        Gen.Select(Gen.Int[1, 200], op.Array[1, 400]).Sample((size, ops) =>
        {
            var a = new SnatPortAllocator(Public, 2000, (ushort)(2000 + size - 1));
            byte[] protos = [IpProtocol.Tcp, IpProtocol.Udp, IpProtocol.Icmp];
            var model = protos.ToDictionary(p => p, _ => new HashSet<ushort>());
            foreach (var (allocate, pi, n) in ops)
            {
                byte proto = protos[pi];
                var used = model[proto];
                if (allocate || used.Count == 0)
                {
                    bool ok = a.TryAllocate(Key(n, proto), out ushort port);
                    ok.Should().Be(used.Count < size);
                    if (ok)
                    {
                        port.Should().BeInRange((ushort)2000, (ushort)(2000 + size - 1));
                        used.Add(port).Should().BeTrue("port {0} was already in use", port);
                    }
                }
                else
                {
                    var victim = used.ElementAt((int)((uint)n % (uint)used.Count));
                    a.Release(proto, victim).Should().BeTrue();
                    used.Remove(victim);
                }
                a.InUse(proto).Should().Be(used.Count);
                foreach (var p in used)
                    a.IsInUse(proto, p).Should().BeTrue();
            }
        }, iter: 300);
    }

    [Fact]
    public void Constructor_EmptyRange_Throws()
    {
        var act = () => new SnatPortAllocator(Public, 10, 9);
        act.Should().Throw<ArgumentException>();
    }
}
