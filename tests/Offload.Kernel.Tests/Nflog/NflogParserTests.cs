using System.Buffers.Binary;
using CsCheck;
using Offload.Kernel.Conntrack;
using Offload.Kernel.Netlink;
using Offload.Kernel.Nflog;
using Offload.Packets;

namespace Offload.Kernel.Tests.Nflog;

/// <summary>NFLOG decoding from bytes the kernel sent, and from damaged copies of them.</summary>
public sealed class NflogParserTests
{
    // Recorded from the kernel (6.18) by NflogListenerKernelTests' ACL test: one NFULNL_MSG_PACKET for group 9,
    // prefix "acl:0", forward hook, in ifindex 2, out ifindex 3, hardware address/type/header, timestamp, and the
    // 60-byte SYN 10.1.0.1:47000 -> 10.1.0.2:22.
    private const string RecordedHex = "C00000000004000000000000000000000200000908000100080002000A000A0061636C3A3000000008000400000000020800050000000003100008000006000046B9B9112D3D000006000F000001000006001100000E0000120010008E3B5FF96E9B46B9B9112D3D0800000014000300000000006B071B1F000000000005A27F400009004500003C711F40003F06B6980A0100010A010002B7980016B675B5FF00000000A002FAF014330000020405B40402080AB8BAF759000000000103030A";

    // Offsets of attributes in the recorded datagram (16-byte nlmsghdr + 4-byte nfgenmsg, then the attributes).
    private const int PacketHeaderAt = 20;
    private const int PrefixAt = 28;
    private const int PrefixNulAt = 37;
    private const int PayloadAt = 128;

    private static byte[] Recorded() => Convert.FromHexString(RecordedHex);

    private static (List<NflogRecord> Records, int Malformed, NetlinkParseError Last) Decode(ReadOnlySpan<byte> datagram)
    {
        var records = new List<NflogRecord>();
        int malformed = NflogListener.Decode(datagram, records, out NetlinkParseError last);
        return (records, malformed, last);
    }

    [Fact]
    public void Decode_RecordedAclDrop_ReadsEveryField()
    {
        (List<NflogRecord> records, int malformed, _) = Decode(Recorded());

        malformed.Should().Be(0);
        NflogRecord r = records.Should().ContainSingle().Subject;
        r.Group.Should().Be(9);
        r.Family.Should().Be(2);
        r.HardwareProtocol.Should().Be(EtherType.IPv4);
        r.Hook.Should().Be(2);
        r.InputInterfaceIndex.Should().Be(2u);
        r.OutputInterfaceIndex.Should().Be(3u);
        r.Mark.Should().BeNull("the kernel omits a zero mark");
        r.Prefix.Should().Be("acl:0");
        r.Reason.Should().Be(DropReason.Acl);
        r.RuleId.Should().Be("0");
        r.HasTuple.Should().BeTrue();
        r.Tuple.Should().Be(new ConntrackTuple(NetAddress.Parse("10.1.0.1"), NetAddress.Parse("10.1.0.2"), IpProtocol.Tcp, 47000, 22));
        r.PayloadLength.Should().Be(60);
        r.PayloadTruncated.Should().BeFalse();
        r.Conntrack.Should().BeNull();
    }

    [Fact]
    public void Decode_TwoMessagesAndDoneInOneDatagram_ReadsBothSkipsDone()
    {
        byte[] one = Recorded();
        var datagram = new byte[one.Length * 2 + 20];
        one.CopyTo(datagram, 0);
        one.CopyTo(datagram, one.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(datagram.AsSpan(one.Length * 2), 20);
        BinaryPrimitives.WriteUInt16LittleEndian(datagram.AsSpan(one.Length * 2 + 4), NetlinkConstants.MsgDone);

        (List<NflogRecord> records, int malformed, _) = Decode(datagram);

        malformed.Should().Be(0);
        records.Should().HaveCount(2).And.OnlyContain(r => r.Reason == DropReason.Acl);
    }

    [Fact]
    public void Decode_DatagramCutShort_NoRecordOneMalformed()
    {
        byte[] bytes = Recorded();
        for (int cut = 1; cut < bytes.Length; cut++)
        {
            (List<NflogRecord> records, int malformed, NetlinkParseError last) = Decode(bytes.AsSpan(0, cut));
            records.Should().BeEmpty("cut at {0}", cut);
            malformed.Should().Be(1, "cut at {0}", cut);
            last.Should().BeOneOf(NetlinkParseError.TruncatedHeader, NetlinkParseError.LengthBeyondBuffer);
        }
    }

    [Fact]
    public void Decode_AttributeLengthPastTheMessage_SkippedAsMalformed()
    {
        byte[] bytes = Recorded();
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(PrefixAt), 0x400);

        (List<NflogRecord> records, int malformed, NetlinkParseError last) = Decode(bytes);

        records.Should().BeEmpty();
        malformed.Should().Be(1);
        last.Should().Be(NetlinkParseError.LengthBeyondBuffer);
    }

    [Fact]
    public void Decode_PacketHeaderOfWrongSize_SkippedAsMalformed()
    {
        byte[] bytes = Recorded();
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(PacketHeaderAt), 6);

        (List<NflogRecord> records, _, NetlinkParseError last) = Decode(bytes);

        records.Should().BeEmpty();
        last.Should().Be(NetlinkParseError.BadPayloadSize);
    }

    [Fact]
    public void Decode_PacketHeaderMissing_SkippedAsMalformed()
    {
        byte[] bytes = Recorded();
        // Same length, another (unknown, ignored) type.
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(PacketHeaderAt + 2), 0x3F00);

        (List<NflogRecord> records, _, NetlinkParseError last) = Decode(bytes);

        records.Should().BeEmpty();
        last.Should().Be(NetlinkParseError.MissingAttribute);
    }

    [Fact]
    public void Decode_PrefixWithoutTerminator_SkippedAsMalformed()
    {
        byte[] bytes = Recorded();
        bytes[PrefixNulAt] = (byte)'x';

        (List<NflogRecord> records, _, NetlinkParseError last) = Decode(bytes);

        records.Should().BeEmpty();
        last.Should().Be(NetlinkParseError.BadPayloadSize);
    }

    [Fact]
    public void Decode_MessageWithoutFamilyHeader_SkippedAsMalformed()
    {
        var bytes = new byte[18];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, 18);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(4), 0x0400);

        (List<NflogRecord> records, _, NetlinkParseError last) = Decode(bytes);

        records.Should().BeEmpty();
        last.Should().Be(NetlinkParseError.MissingFamilyHeader);
    }

    [Fact]
    public void Decode_PayloadNotAnIpPacket_RecordKeptWithoutTuple()
    {
        byte[] bytes = Recorded();
        bytes[PayloadAt + 4] = 0x15; // version 1, IHL 5

        (List<NflogRecord> records, int malformed, _) = Decode(bytes);

        malformed.Should().Be(0, "the drop itself is still worth reporting");
        NflogRecord r = records.Should().ContainSingle().Subject;
        r.Reason.Should().Be(DropReason.Acl);
        r.HasTuple.Should().BeFalse();
        r.TupleError.Should().NotBe(DropReason.None);
    }

    [Fact]
    public void Decode_PayloadCutByCopyRange_TupleReadFromTheHeaders()
    {
        byte[] bytes = Recorded();
        // Keep only IP (20) and the first 20 bytes of TCP: shrink the payload attribute and the message.
        int cut = 20;
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(PayloadAt), (ushort)(64 - cut));
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, (uint)(bytes.Length - cut));

        (List<NflogRecord> records, _, _) = Decode(bytes.AsSpan(0, bytes.Length - cut));

        NflogRecord r = records.Should().ContainSingle().Subject;
        r.PayloadTruncated.Should().BeTrue();
        r.PayloadLength.Should().Be(40);
        r.Tuple.Should().Be(new ConntrackTuple(NetAddress.Parse("10.1.0.1"), NetAddress.Parse("10.1.0.2"), IpProtocol.Tcp, 47000, 22));
    }

    [Fact]
    public void Decode_RandomDamageToRecordedBytes_NeverThrowsAndEveryRecordIsConsistent()
    {
        byte[] original = Recorded();
        Gen.Select(Gen.Int[0, original.Length - 1], Gen.Byte).Array[1, 8].Sample(flips =>
        {
            byte[] bytes = (byte[])original.Clone();
            foreach ((int at, byte value) in flips)
                bytes[at] = value;
            (List<NflogRecord> records, int malformed, NetlinkParseError last) = Decode(bytes);
            (malformed == 0).Should().Be(last == NetlinkParseError.None);
            foreach (NflogRecord r in records)
            {
                r.Prefix.Should().NotBeNull();
                r.RuleId.Should().NotBeNull();
                if (r.HasTuple)
                    r.TupleError.Should().Be(DropReason.None);
                r.PayloadLength.Should().BeLessThanOrEqualTo(bytes.Length);
            }
        }, iter: 20_000);
    }

    // NFULA_CT is a ctnetlink attribute list (no nfgenmsg) nested in the record; this kernel is built without
    // CONFIG_NETFILTER_NETLINK_GLUE_CT, so the message is built here to the uapi layout.
    private static byte[] WithConntrack(Action<NetlinkMessageBuilder> conntrackNest)
    {
        byte[] recorded = Recorded();
        var b = new NetlinkMessageBuilder();
        b.BeginMessage(0x0400, 0, 0);
        b.AddNetfilterHeader(2, 9);
        b.AddAttribute(1, [0x08, 0x00, 2, 0]);
        b.AddAttribute(10, "acl:0\0"u8);
        b.BeginNested(18);
        conntrackNest(b);
        b.EndNested();
        b.AddUInt32BigEndian(19, 3);
        b.AddAttribute(9, recorded.AsSpan(PayloadAt + 4, 60));
        b.EndMessage();
        return b.Written.ToArray();
    }

    private static readonly ConntrackTuple Syn = new(NetAddress.Parse("10.1.0.1"), NetAddress.Parse("10.1.0.2"), IpProtocol.Tcp, 47000, 22);

    [Fact]
    public void Decode_ConntrackNest_EntryAndInfoRead()
    {
        byte[] bytes = WithConntrack(b =>
        {
            CtnetlinkTupleWriter.Write(b, 1, Syn);
            CtnetlinkTupleWriter.Write(b, 2, new ConntrackTuple(Syn.Destination, Syn.Source, IpProtocol.Tcp, 22, 47000));
            b.AddUInt32BigEndian(3, 0);
            b.AddUInt32BigEndian(12, 1234);
        });

        (List<NflogRecord> records, int malformed, _) = Decode(bytes);

        malformed.Should().Be(0);
        NflogRecord r = records.Should().ContainSingle().Subject;
        r.Conntrack.Should().NotBeNull();
        r.Conntrack!.Value.Original.Should().Be(Syn);
        r.Conntrack.Value.Id.Should().Be(1234u);
        r.ConntrackInfo.Should().Be(3u, "IP_CT_NEW");
        r.Tuple.Should().Be(Syn);
    }

    [Fact]
    public void Decode_BrokenConntrackNest_RecordKeptWithoutEntry()
    {
        // An original tuple but no reply tuple: not an entry.
        byte[] bytes = WithConntrack(b => CtnetlinkTupleWriter.Write(b, 1, Syn));

        (List<NflogRecord> records, int malformed, _) = Decode(bytes);

        malformed.Should().Be(0, "the drop and its tuple are still known");
        NflogRecord r = records.Should().ContainSingle().Subject;
        r.Conntrack.Should().BeNull();
        r.Reason.Should().Be(DropReason.Acl);
        r.Tuple.Should().Be(Syn);
    }
}
