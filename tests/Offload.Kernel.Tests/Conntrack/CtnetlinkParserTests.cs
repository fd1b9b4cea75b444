using CsCheck;
using Offload.Conntrack;
using Offload.Kernel.Conntrack;
using Offload.Kernel.Netlink;
using Offload.Packets;

namespace Offload.Kernel.Tests.Conntrack;

public sealed class CtnetlinkParserTests
{
    // The payload of an IPCTNL_MSG_CT_NEW message as the kernel sends it for
    // tcp 10.9.0.1:40000 -> 10.9.0.2:80 ESTABLISHED, status SEEN_REPLY|ASSURED|CONFIRMED, timeout 200, mark 42,
    // original counters 5 packets / 256 bytes. Written out by hand from the uapi layout, not by our builder.
    private static readonly byte[] TcpEntry =
    [
        2, 0, 0, 0,                                                         // nfgenmsg AF_INET
        52, 0, 1, 0x80,                                                     // CTA_TUPLE_ORIG
          20, 0, 1, 0x80, 8, 0, 1, 0, 10, 9, 0, 1, 8, 0, 2, 0, 10, 9, 0, 2,
          28, 0, 2, 0x80, 5, 0, 1, 0, 6, 0, 0, 0, 6, 0, 2, 0, 0x9C, 0x40, 0, 0, 6, 0, 3, 0, 0, 80, 0, 0,
        52, 0, 2, 0x80,                                                     // CTA_TUPLE_REPLY
          20, 0, 1, 0x80, 8, 0, 1, 0, 10, 9, 0, 2, 8, 0, 2, 0, 10, 9, 0, 1,
          28, 0, 2, 0x80, 5, 0, 1, 0, 6, 0, 0, 0, 6, 0, 2, 0, 0, 80, 0, 0, 6, 0, 3, 0, 0x9C, 0x40, 0, 0,
        8, 0, 3, 0, 0, 0, 0, 0x0E,                                          // CTA_STATUS
        8, 0, 7, 0, 0, 0, 0, 200,                                           // CTA_TIMEOUT
        8, 0, 8, 0, 0, 0, 0, 42,                                            // CTA_MARK
        16, 0, 4, 0x80, 12, 0, 1, 0x80, 5, 0, 1, 0, 3, 0, 0, 0,             // CTA_PROTOINFO { TCP { STATE 3 } }
        28, 0, 9, 0x80,                                                     // CTA_COUNTERS_ORIG
          12, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 5,
          12, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0,
    ];

    private const int EndOfReplyTuple = 4 + 52 + 52;

    [Fact]
    public void TryParseEntry_HandMadeTcpEntry_DecodesEveryField()
    {
        CtnetlinkParser.TryParseEntry(TcpEntry, out KernelConntrackEntry e).Should().Be(NetlinkParseError.None);

        e.Original.Should().Be(new ConntrackTuple(NetAddress.Parse("10.9.0.1"), NetAddress.Parse("10.9.0.2"), IpProtocol.Tcp, 40000, 80));
        e.Reply.Should().Be(new ConntrackTuple(NetAddress.Parse("10.9.0.2"), NetAddress.Parse("10.9.0.1"), IpProtocol.Tcp, 80, 40000));
        e.Status.Should().Be(ConntrackStatus.SeenReply | ConntrackStatus.Assured | ConntrackStatus.Confirmed);
        e.KernelTcpState.Should().Be(3);
        e.State.Should().Be(ConnState.Established);
        e.TimeoutSeconds.Should().Be(200);
        e.Mark.Should().Be(42);
        e.HasCounters.Should().BeTrue();
        e.OriginalPackets.Should().Be(5);
        e.OriginalBytes.Should().Be(256);
        e.ReplyPackets.Should().Be(0);
    }

    [Fact]
    public void TryParseEntry_EveryTruncation_ReturnsReasonAndNeverThrows()
    {
        for (int cut = 0; cut < TcpEntry.Length; cut++)
        {
            NetlinkParseError error = CtnetlinkParser.TryParseEntry(TcpEntry.AsSpan(0, cut), out _);
            if (cut < EndOfReplyTuple)
                error.Should().NotBe(NetlinkParseError.None, "cut at {0} loses a tuple", cut);
        }
    }

    [Fact]
    public void TryParseEntry_NoFamilyHeader_MissingFamilyHeader() =>
        CtnetlinkParser.TryParseEntry(TcpEntry.AsSpan(0, 3), out _).Should().Be(NetlinkParseError.MissingFamilyHeader);

    [Fact]
    public void TryParseEntry_NoReplyTuple_MissingAttribute()
    {
        byte[] bytes = [.. TcpEntry.AsSpan(0, 56), .. TcpEntry.AsSpan(EndOfReplyTuple)];

        CtnetlinkParser.TryParseEntry(bytes, out _).Should().Be(NetlinkParseError.MissingAttribute);
    }

    [Fact]
    public void TryParseEntry_StatusOfTwoBytes_BadPayloadSize()
    {
        byte[] bytes = (byte[])TcpEntry.Clone();
        bytes[EndOfReplyTuple] = 6; // CTA_STATUS length 6: a 2-byte payload (the padding keeps the walk aligned)

        CtnetlinkParser.TryParseEntry(bytes, out _).Should().Be(NetlinkParseError.BadPayloadSize);
    }

    [Fact]
    public void TryParseEntry_UnknownTcpState_UnsupportedValue()
    {
        byte[] bytes = (byte[])TcpEntry.Clone();
        int stateOffset = EndOfReplyTuple + 24 + 12;
        bytes[stateOffset].Should().Be(3);
        bytes[stateOffset] = 42;

        CtnetlinkParser.TryParseEntry(bytes, out _).Should().Be(NetlinkParseError.UnsupportedValue);
    }

    [Fact]
    public void TryParseEntry_MixedAddressFamiliesInTuple_UnsupportedValue()
    {
        var b = new NetlinkMessageBuilder();
        b.BeginMessage(0x100, 0, 1);
        b.AddNetfilterHeader(2);
        foreach (ushort dir in new ushort[] { 1, 2 })
        {
            b.BeginNested(dir);
            b.BeginNested(1);
            b.AddUInt32BigEndian(1, 0x0A000001);
            b.AddAttribute(4, new byte[16]);
            b.EndNested();
            b.BeginNested(2);
            b.AddByte(1, 17);
            b.EndNested();
            b.EndNested();
        }
        b.EndMessage();

        CtnetlinkParser.TryParseEntry(b.Written[16..], out _).Should().Be(NetlinkParseError.UnsupportedValue);
    }

    private static readonly Gen<NetAddress> GenV4 = Gen.UInt.Select(NetAddress.FromV4);
    private static readonly Gen<NetAddress> GenV6 = Gen.Select(Gen.ULong, Gen.ULong, (h, l) => new NetAddress(h | 0x2000_0000_0000_0000, l));
    private static readonly Gen<ConntrackTuple> GenTuple =
        Gen.Bool.SelectMany(v4 => Gen.Select(v4 ? GenV4 : GenV6, v4 ? GenV4 : GenV6,
            Gen.Int[0, 3].Select(i => i switch { 0 => IpProtocol.Tcp, 1 => IpProtocol.Udp, 2 => v4 ? IpProtocol.Icmp : IpProtocol.IcmpV6, _ => (byte)132 }),
            Gen.UShort, Gen.UShort, (s, d, p, sp, dp) => new ConntrackTuple(s, d, p, sp, dp)));

    [Fact]
    public void TupleWriter_RandomTuples_ParseBackEqual()
    {
        // Sample runs in parallel: one builder per case.
        GenTuple.Sample(t =>
        {
            var b = new NetlinkMessageBuilder();
            b.BeginMessage(0x100, 0, 1);
            CtnetlinkTupleWriter.Write(b, 1, t);
            b.EndMessage();
            var attrs = new NetlinkAttributeReader(b.Written[16..]);
            attrs.TryRead(out NetlinkAttribute a).Should().BeTrue();
            CtnetlinkParser.TryParseTuple(a.Payload, out ConntrackTuple back).Should().Be(NetlinkParseError.None);
            back.Should().Be(t);
        }, iter: 2000);
    }

    [Fact]
    public void TryParseEntry_RandomBytes_NeverThrows()
    {
        int errors = 0;
        Gen.Byte.Array[0, 300].Sample(bytes =>
        {
            if (CtnetlinkParser.TryParseEntry(bytes, out _) != NetlinkParseError.None)
                Interlocked.Increment(ref errors);
        }, iter: 20_000);
        errors.Should().BeGreaterThan(0);
    }

    [Fact]
    public void TryParseEntry_RandomlyCorruptedEntry_NeverThrowsAndValidResultsStayConsistent()
    {
        Gen.Select(Gen.Int[0, TcpEntry.Length - 1], Gen.Byte, Gen.Int[0, TcpEntry.Length - 1], Gen.Byte).Sample((i, v, j, w) =>
        {
            byte[] bytes = (byte[])TcpEntry.Clone();
            bytes[i] = v;
            bytes[j] = w;
            if (CtnetlinkParser.TryParseEntry(bytes, out KernelConntrackEntry e) == NetlinkParseError.None)
                e.Original.Source.IsV4.Should().Be(e.Original.Destination.IsV4);
        }, iter: 20_000);
    }
}
