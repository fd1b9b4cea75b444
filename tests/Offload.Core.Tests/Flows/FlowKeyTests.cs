using System.Runtime.CompilerServices;
using CsCheck;
using Offload.Flows;
using Offload.Packets;

namespace Offload.Tests.Flows;

public class FlowKeyTests
{
    private static readonly Gen<NetAddress> GenAddress = Gen.OneOf(
        Gen.UInt.Select(NetAddress.FromV4),
        Gen.Select(Gen.ULong, Gen.ULong, (h, l) => new NetAddress(h, l)));

    internal static readonly Gen<FlowKey> GenKey =
        Gen.Select(GenAddress, GenAddress, Gen.UShort, Gen.UShort, Gen.Byte, Gen.UShort, Gen.UInt[0, 0xFFFFFF])
           .Select(t => new FlowKey(t.Item1, t.Item3, t.Item2, t.Item4, t.Item5, t.Item6, t.Item7));

    [Fact]
    public void Size_IsFortyEightBytesWithoutImplicitPadding()
    {
        Unsafe.SizeOf<FlowKey>().Should().Be(48);
    }

    [Fact]
    public void EqualityAndHash_AgreeOnRandomKeys()
    {
        Gen.Select(GenKey, GenKey).Sample((a, b) =>
        {
            var copy = new FlowKey(a.SrcIp, a.SrcPort, a.DstIp, a.DstPort, a.Protocol, a.InPort, a.Vni);
            copy.Equals(a).Should().BeTrue();
            FlowHash.Hash(copy, 42).Should().Be(FlowHash.Hash(a, 42));
            bool fieldsEqual = a.SrcIp == b.SrcIp && a.DstIp == b.DstIp && a.SrcPort == b.SrcPort && a.DstPort == b.DstPort
                               && a.Protocol == b.Protocol && a.InPort == b.InPort && a.Vni == b.Vni;
            a.Equals(b).Should().Be(fieldsEqual);
            if (fieldsEqual)
                a.GetHashCode().Should().Be(b.GetHashCode());
        }, iter: 200_000);
    }

    [Fact]
    public void Hash_ChangesWhenAnySingleFieldChanges()
    {
        GenKey.Sample(k =>
        {
            ulong h = FlowHash.Hash(k, 7);
            FlowHash.Hash(new FlowKey(k.SrcIp, (ushort)(k.SrcPort ^ 1), k.DstIp, k.DstPort, k.Protocol, k.InPort, k.Vni), 7).Should().NotBe(h);
            FlowHash.Hash(new FlowKey(k.SrcIp, k.SrcPort, k.DstIp, (ushort)(k.DstPort ^ 0x100), k.Protocol, k.InPort, k.Vni), 7).Should().NotBe(h);
            FlowHash.Hash(new FlowKey(k.SrcIp, k.SrcPort, k.DstIp, k.DstPort, (byte)(k.Protocol ^ 1), k.InPort, k.Vni), 7).Should().NotBe(h);
            FlowHash.Hash(new FlowKey(k.SrcIp, k.SrcPort, k.DstIp, k.DstPort, k.Protocol, (ushort)(k.InPort ^ 1), k.Vni), 7).Should().NotBe(h);
            FlowHash.Hash(new FlowKey(k.SrcIp, k.SrcPort, k.DstIp, k.DstPort, k.Protocol, k.InPort, k.Vni ^ 1), 7).Should().NotBe(h);
            FlowHash.Hash(k, 8).Should().NotBe(h);
        }, iter: 50_000);
    }

    [Fact]
    public void Hash_LowBitsAreUniformOverSequentialPorts()
    {
        // Sequential client ports are the common case; the table indexes by low bits.
        const int buckets = 1024;
        var counts = new int[buckets];
        var src = NetAddress.Parse("10.0.0.1");
        var dst = NetAddress.Parse("10.0.0.2");
        for (int p = 0; p < 65536; p++)
            counts[FlowHash.Hash(new FlowKey(src, (ushort)p, dst, 80, 6, 1, 100), 1) & (buckets - 1)]++;
        counts.Max().Should().BeLessThan(64 * 2, "64 keys per bucket on average");
        counts.Min().Should().BeGreaterThan(64 / 2);
    }

    [Fact]
    public void TryInvert_Tcp_SwapsAddressesAndPorts()
    {
        var k = new FlowKey(NetAddress.Parse("10.1.0.1"), 40000, NetAddress.Parse("10.1.0.2"), 80, IpProtocol.Tcp, 1, 100);
        k.TryInvert(2, 100, out var r).Should().BeTrue();
        r.Should().Be(new FlowKey(NetAddress.Parse("10.1.0.2"), 80, NetAddress.Parse("10.1.0.1"), 40000, IpProtocol.Tcp, 2, 100));
    }

    [Fact]
    public void TryInvert_IcmpEcho_KeepsIdentifierAndUsesReplyType()
    {
        var k = new FlowKey(NetAddress.Parse("10.1.0.1"), 0x1234, NetAddress.Parse("10.1.0.2"), 8 << 8, IpProtocol.Icmp, 1, 100);
        k.TryInvert(2, 100, out var r).Should().BeTrue();
        r.SrcPort.Should().Be(0x1234);
        r.DstPort.Should().Be(0);
        r.SrcIp.Should().Be(NetAddress.Parse("10.1.0.2"));
    }

    [Fact]
    public void TryInvert_IcmpError_HasNoReply()
    {
        var k = new FlowKey(NetAddress.Parse("10.1.0.1"), 0, NetAddress.Parse("10.1.0.2"), 3 << 8 | 3, IpProtocol.Icmp, 1, 100);
        k.TryInvert(2, 100, out _).Should().BeFalse();
    }

    [Fact]
    public void NetAddress_RoundTripsBothFamilies()
    {
        NetAddress.Parse("192.0.2.10").ToString().Should().Be("192.0.2.10");
        NetAddress.Parse("192.0.2.10").IsV4.Should().BeTrue();
        NetAddress.Parse("2001:db8::1").ToString().Should().Be("2001:db8::1");
        NetAddress.Parse("2001:db8::1").IsV4.Should().BeFalse();
        NetAddress.Parse("::ffff:192.0.2.1").Should().Be(NetAddress.Parse("192.0.2.1"));
        MacAddress.Parse("02:00:00:00:0a:01").ToString().Should().Be("02:00:00:00:0a:01");
        MacAddress.TryParse("02:00:00:00:0a", out _).Should().BeFalse();
    }

    [Fact]
    public void DropReasonNames_AreKebabCase()
    {
        DropReason.SecurityGroup.Name().Should().Be("security-group");
        DropReason.Acl.Name().Should().Be("acl");
        DropReason.BadIpv4Header.Name().Should().Be("bad-ipv4-header");
        DropReason.UnknownPort.Name().Should().Be("unknown-port");
    }
}
