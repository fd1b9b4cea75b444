using Microsoft.Extensions.Time.Testing;
using Offload.Packets;
using static Offload.Tests.Packets.Frames;

namespace Offload.Tests.Packets;

public class FragmentTrackerTests
{
    private readonly FakeTimeProvider _time = new();

    private static ParsedPacket First(ushort id, ushort sp = 5000, string src = "10.0.0.1") =>
        Parse(Ethernet(EtherType.IPv4, Ipv4(IpProtocol.Udp, src, "10.0.0.2", Udp(sp, 53, new byte[40])[..24], id: id, moreFragments: true)));

    private static ParsedPacket Later(ushort id, string src = "10.0.0.1") =>
        Parse(Ethernet(EtherType.IPv4, Ipv4(IpProtocol.Udp, src, "10.0.0.2", new byte[24], id: id, fragmentOffset: 16)));

    private FragmentTracker NewTracker(int capacity = 16) => new(capacity, _time.TimestampFrequency);

    [Fact]
    public void TryResolve_AfterFirstFragment_FillsPorts()
    {
        var tracker = NewTracker();
        tracker.RecordFirstFragment(First(9), _time.GetTimestamp());
        var later = Later(9);
        later.HasPorts.Should().BeFalse();

        tracker.TryResolve(ref later, _time.GetTimestamp()).Should().BeTrue();
        (later.HasPorts, later.SrcPort, later.DstPort).Should().Be((true, (ushort)5000, (ushort)53));
    }

    [Fact]
    public void TryResolve_WithoutFirstFragment_False()
    {
        var tracker = NewTracker();
        tracker.RecordFirstFragment(First(9), _time.GetTimestamp());
        var otherId = Later(10);
        var otherSource = Later(9, src: "10.0.0.3");
        tracker.TryResolve(ref otherId, _time.GetTimestamp()).Should().BeFalse();
        tracker.TryResolve(ref otherSource, _time.GetTimestamp()).Should().BeFalse();
        otherId.HasPorts.Should().BeFalse();
    }

    [Fact]
    public void TryResolve_Ipv6ThirtyTwoBitId_Matches()
    {
        var tracker = NewTracker();
        var first = Parse(Ethernet(EtherType.IPv6, Ipv6(IpProtocol.Fragment, "2001:db8::1", "2001:db8::2",
            Concat(Ipv6Fragment(IpProtocol.Tcp, 0, true, 0x12345678), Tcp(7000, 443)))));
        var later = Parse(Ethernet(EtherType.IPv6, Ipv6(IpProtocol.Fragment, "2001:db8::1", "2001:db8::2",
            Concat(Ipv6Fragment(IpProtocol.Tcp, 24, false, 0x12345678), new byte[8]))));
        var wrongHighBits = Parse(Ethernet(EtherType.IPv6, Ipv6(IpProtocol.Fragment, "2001:db8::1", "2001:db8::2",
            Concat(Ipv6Fragment(IpProtocol.Tcp, 24, false, 0x02345678), new byte[8]))));
        tracker.RecordFirstFragment(first, _time.GetTimestamp());
        tracker.TryResolve(ref later, _time.GetTimestamp()).Should().BeTrue();
        (later.SrcPort, later.DstPort).Should().Be(((ushort)7000, (ushort)443));
        tracker.TryResolve(ref wrongHighBits, _time.GetTimestamp()).Should().BeFalse();
    }

    [Fact]
    public void TryResolve_AfterTimeout_FalseAndForgotten()
    {
        var tracker = new FragmentTracker(16, TimeSpan.FromSeconds(30), _time.TimestampFrequency);
        tracker.RecordFirstFragment(First(9), _time.GetTimestamp());
        _time.Advance(TimeSpan.FromSeconds(29));
        var early = Later(9);
        tracker.TryResolve(ref early, _time.GetTimestamp()).Should().BeTrue();
        _time.Advance(TimeSpan.FromSeconds(2));
        var late = Later(9);
        tracker.TryResolve(ref late, _time.GetTimestamp()).Should().BeFalse();
        tracker.Count.Should().Be(0);
    }

    [Fact]
    public void DefaultTimeout_IsKernelIpfragTime()
    {
        NewTracker().Timeout.Should().Be(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public void RecordFirstFragment_WhenFull_EvictsOldest()
    {
        var tracker = NewTracker(capacity: 4);
        for (ushort id = 1; id <= 5; id++)
        {
            tracker.RecordFirstFragment(First(id, sp: (ushort)(1000 + id)), _time.GetTimestamp());
            _time.Advance(TimeSpan.FromMilliseconds(1));
        }
        tracker.Count.Should().Be(4);
        var oldest = Later(1);
        tracker.TryResolve(ref oldest, _time.GetTimestamp()).Should().BeFalse();
        for (ushort id = 2; id <= 5; id++)
        {
            var later = Later(id);
            tracker.TryResolve(ref later, _time.GetTimestamp()).Should().BeTrue($"id {id} is among the newest 4");
            later.SrcPort.Should().Be((ushort)(1000 + id));
        }
    }

    [Fact]
    public void RecordFirstFragment_ManyMoreThanCapacity_StaysBoundedAndResolvesNewest()
    {
        var tracker = NewTracker(capacity: 64);
        for (int i = 0; i < 10_000; i++)
            tracker.RecordFirstFragment(First((ushort)i, sp: (ushort)i), _time.GetTimestamp());
        tracker.Count.Should().Be(64);
        for (int i = 10_000 - 64; i < 10_000; i++)
        {
            var later = Later((ushort)i);
            tracker.TryResolve(ref later, _time.GetTimestamp()).Should().BeTrue();
            later.SrcPort.Should().Be((ushort)i);
        }
        var evicted = Later(10_000 - 65);
        tracker.TryResolve(ref evicted, _time.GetTimestamp()).Should().BeFalse();
    }

    [Fact]
    public void RecordFirstFragment_NotAFirstFragment_Ignored()
    {
        var tracker = NewTracker();
        var whole = Parse(Ethernet(EtherType.IPv4, Ipv4(IpProtocol.Udp, "10.0.0.1", "10.0.0.2", Udp(1, 2), id: 9)));
        tracker.RecordFirstFragment(whole, _time.GetTimestamp());
        tracker.RecordFirstFragment(Later(9), _time.GetTimestamp());
        tracker.Count.Should().Be(0);
    }
}
