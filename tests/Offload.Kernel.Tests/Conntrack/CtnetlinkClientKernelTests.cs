using System.Net;
using System.Net.Sockets;
using Offload.Conntrack;
using Offload.Kernel.Conntrack;
using Offload.Kernel.Netlink;
using Offload.Kernel.Tests.Netns;
using Offload.Packets;

namespace Offload.Kernel.Tests.Conntrack;

/// <summary>ctnetlink against the real kernel, each test in its own network namespace; <c>conntrack</c> is the oracle.</summary>
public sealed class CtnetlinkClientKernelTests : IDisposable
{
    private static readonly ConntrackTuple Udp = new(NetAddress.Parse("10.9.0.1"), NetAddress.Parse("10.9.0.2"), IpProtocol.Udp, 1111, 2222);
    private static readonly ConntrackTuple Tcp = new(NetAddress.Parse("10.9.0.1"), NetAddress.Parse("10.9.0.2"), IpProtocol.Tcp, 40000, 80);

    // Every test here is a RootFact: xunit does not construct the class for a skipped test.
    private readonly NetworkNamespace _ns;
    private readonly CtnetlinkClient _client;

    public CtnetlinkClientKernelTests()
    {
        _ns = NetworkNamespace.Create();
        try
        {
            _client = _ns.Enter(() => CtnetlinkClient.Open());
        }
        catch
        {
            _ns.Dispose();
            throw;
        }
    }

    private NetworkNamespace Ns => _ns;
    private CtnetlinkClient Client => _client;

    public void Dispose()
    {
        _client.Dispose();
        _ns.Dispose();
    }

    private void InsertSample()
    {
        Ns.Exec("conntrack", "-I", "-p", "udp", "-s", "10.9.0.1", "-d", "10.9.0.2", "--sport", "1111", "--dport", "2222",
            "-t", "100", "-u", "SEEN_REPLY");
        Ns.Exec("conntrack", "-I", "-p", "tcp", "-s", "10.9.0.1", "-d", "10.9.0.2", "--sport", "40000", "--dport", "80",
            "-t", "200", "--state", "ESTABLISHED", "-u", "SEEN_REPLY,ASSURED", "-m", "42");
        Ns.Exec("conntrack", "-I", "-p", "icmp", "-s", "10.9.0.1", "-d", "10.9.0.2", "--icmp-type", "8", "--icmp-code", "0",
            "--icmp-id", "77", "-t", "25");
        Ns.Exec("conntrack", "-I", "-p", "udp", "-s", "fd00::1", "-d", "fd00::2", "--sport", "5000", "--dport", "53", "-t", "50");
        Ns.Exec("conntrack", "-I", "-p", "udp", "-s", "10.9.0.3", "-d", "10.9.0.4", "--sport", "7", "--dport", "8", "-t", "60", "-w", "5");
    }

    private List<ConntrackToolLine> ToolList() => ConntrackToolLine.ParseAll(Ns.Exec("conntrack", "-L", "-o", "extended"));

    [RootFact]
    public void Dump_EntriesInsertedWithConntrackTool_MatchConntrackList()
    {
        InsertSample();

        List<KernelConntrackEntry> dump = Client.Dump();
        List<ConntrackToolLine> oracle = ToolList();

        oracle.Should().HaveCount(5);
        dump.Should().HaveCount(5);
        Client.MalformedEntries.Should().Be(0);
        foreach (ConntrackToolLine line in oracle)
        {
            KernelConntrackEntry e = dump.Single(d => d.Original == line.Original);
            e.Reply.Should().Be(line.Reply);
            e.TimeoutSeconds.Should().BeInRange(line.Timeout - 2, line.Timeout + 2);
            e.Mark.Should().Be(line.Mark);
            e.Zone.Should().Be(line.Zone);
            ((e.Status & ConntrackStatus.SeenReply) == 0).Should().Be(line.Unreplied);
            ((e.Status & ConntrackStatus.Assured) != 0).Should().Be(line.Assured);
            if (line.TcpState is not null)
                e.State.Name().Should().Be(line.TcpState);
        }
    }

    [RootFact]
    public void Dump_SampleEntries_DecodesEveryField()
    {
        InsertSample();

        List<KernelConntrackEntry> dump = Client.Dump();

        KernelConntrackEntry tcp = dump.Single(d => d.Original == Tcp);
        tcp.State.Should().Be(ConnState.Established);
        tcp.KernelTcpState.Should().Be(3);
        tcp.Mark.Should().Be(42);
        tcp.Status.Should().HaveFlag(ConntrackStatus.Assured).And.HaveFlag(ConntrackStatus.SeenReply).And.HaveFlag(ConntrackStatus.Confirmed);
        tcp.Reply.Should().Be(new ConntrackTuple(Tcp.Destination, Tcp.Source, IpProtocol.Tcp, 80, 40000));
        tcp.Id.Should().NotBe(0);

        KernelConntrackEntry udp = dump.Single(d => d.Original == Udp);
        udp.State.Should().Be(ConnState.Replied);
        udp.TimeoutSeconds.Should().BeInRange(97, 100);

        KernelConntrackEntry icmp = dump.Single(d => d.Original.Protocol == IpProtocol.Icmp);
        icmp.Original.Should().Be(ConntrackTuple.Icmp(Udp.Source, Udp.Destination, 77, 8, 0));
        icmp.Reply.Should().Be(ConntrackTuple.Icmp(Udp.Destination, Udp.Source, 77, 0, 0));
        icmp.State.Should().Be(ConnState.Unreplied);

        KernelConntrackEntry v6 = dump.Single(d => !d.Original.IsV4);
        v6.Original.Should().Be(new ConntrackTuple(NetAddress.Parse("fd00::1"), NetAddress.Parse("fd00::2"), IpProtocol.Udp, 5000, 53));

        dump.Single(d => d.Original.SourcePort == 7).Zone.Should().Be(5);
    }

    [RootFact]
    public void SetTimeout_ExistingEntry_ConntrackListShowsNewTimeout()
    {
        InsertSample();

        Client.SetTimeout(Udp, 3000);
        Client.SetTimeout(Tcp, 5);

        List<ConntrackToolLine> oracle = ToolList();
        oracle.Single(l => l.Original == Udp).Timeout.Should().BeInRange(2998, 3000);
        oracle.Single(l => l.Original == Tcp).Timeout.Should().BeInRange(3, 5);
        Client.Dump().Single(d => d.Original == Udp).TimeoutSeconds.Should().BeInRange(2998, 3000);
    }

    [RootFact]
    public void SetTimeout_EntryInZone_NeedsTheZone()
    {
        InsertSample();
        var zoned = new ConntrackTuple(NetAddress.Parse("10.9.0.3"), NetAddress.Parse("10.9.0.4"), IpProtocol.Udp, 7, 8);

        Action wrongZone = () => Client.SetTimeout(zoned, 900);
        wrongZone.Should().Throw<NetlinkException>().Which.Errno.Should().Be(2);
        Client.SetTimeout(zoned, 900, zone: 5);

        ToolList().Single(l => l.Original == zoned).Timeout.Should().BeInRange(898, 900);
    }

    [RootFact]
    public void Delete_ExistingEntries_GoneFromConntrackListAndDump()
    {
        InsertSample();
        KernelConntrackEntry icmp = Client.Dump().Single(d => d.Original.Protocol == IpProtocol.Icmp);
        KernelConntrackEntry v6 = Client.Dump().Single(d => !d.Original.IsV4);

        Client.Delete(Tcp);
        Client.Delete(icmp.Original);
        Client.Delete(v6.Original);

        List<ConntrackToolLine> oracle = ToolList();
        oracle.Should().HaveCount(2);
        oracle.Should().NotContain(l => l.Original == Tcp || l.Original == icmp.Original || l.Original == v6.Original);
        Client.Dump().Select(d => d.Original).Should().BeEquivalentTo(oracle.Select(l => l.Original));
    }

    [RootFact]
    public void Delete_MissingEntry_ThrowsEnoent()
    {
        Action act = () => Client.Delete(Udp);

        NetlinkException e = act.Should().Throw<NetlinkException>().Which;
        e.Errno.Should().Be(2);
        e.IsTransient.Should().BeFalse();
        e.Operation.Should().Be("conntrack delete");
    }

    [RootFact]
    public void Dump_EmptyTable_ReturnsNothing()
    {
        Client.Dump().Should().BeEmpty();
        Client.LastDumpInterrupted.Should().BeFalse();
    }

    [RootFact]
    public void Dump_RealUdpExchange_ReportsRepliedEntryWithCounters()
    {
        Ns.Exec("sysctl", "-q", "-w", "net.netfilter.nf_conntrack_acct=1");
        // A ruleset that uses ct makes the kernel track this namespace's traffic.
        Ns.Exec("nft", "add table inet offload_t; add chain inet offload_t out { type filter hook output priority 0; ct state new counter; }");
        (int clientPort, int serverPort) = Ns.Enter(() =>
        {
            using var server = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
            using var client = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
            var serverEnd = (IPEndPoint)server.Client.LocalEndPoint!;
            for (int i = 0; i < 3; i++)
            {
                client.Send(new byte[10], serverEnd);
                IPEndPoint? from = null;
                server.Receive(ref from);
                server.Send(new byte[20], from);
                client.Receive(ref from);
            }
            return (((IPEndPoint)client.Client.LocalEndPoint!).Port, serverEnd.Port);
        });
        var expected = new ConntrackTuple(NetAddress.Parse("127.0.0.1"), NetAddress.Parse("127.0.0.1"), IpProtocol.Udp,
            (ushort)clientPort, (ushort)serverPort);

        KernelConntrackEntry udp = Client.Dump().Single(d => d.Original == expected);

        ConntrackToolLine line = ToolList().Single(l => l.Original == expected);
        udp.Reply.Should().Be(line.Reply);
        udp.TimeoutSeconds.Should().BeInRange(line.Timeout - 2, line.Timeout + 2);
        udp.State.Should().Be(ConnState.Replied);
        udp.HasCounters.Should().BeTrue();
        udp.OriginalPackets.Should().Be(3);
        udp.ReplyPackets.Should().Be(3);
        udp.OriginalBytes.Should().Be(3 * (20 + 8 + 10));
        udp.ReplyBytes.Should().Be(3 * (20 + 8 + 20));
    }

    [RootFact]
    public void Dump_TableLargerThanOneDatagram_ReturnsEveryEntryOfTheMultipartReply()
    {
        Ns.Exec("nft", "add table inet offload_t; add chain inet offload_t out { type filter hook output priority 0; ct state new counter; }");
        const int Flows = 1500;
        int sourcePort = Ns.Enter(() =>
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            for (int i = 0; i < Flows; i++)
                socket.SendTo(new byte[1], new IPEndPoint(IPAddress.Loopback, 20000 + i));
            return ((IPEndPoint)socket.LocalEndPoint!).Port;
        });

        List<KernelConntrackEntry> dump = Client.Dump();

        // ~1500 entries of ~200 bytes cannot fit one 32 KiB dump datagram: this walks NLM_F_MULTI until NLMSG_DONE.
        List<KernelConntrackEntry> ours = dump.Where(d => d.Original.Protocol == IpProtocol.Udp && d.Original.SourcePort == sourcePort).ToList();
        ours.Select(d => (int)d.Original.DestinationPort).Order().Should().Equal(Enumerable.Range(20000, Flows));
        int toolCount = ToolList().Count(l => l.Original.Protocol == IpProtocol.Udp && l.Original.SourcePort == sourcePort);
        toolCount.Should().Be(Flows);
        Client.MalformedEntries.Should().Be(0);
    }

    [RootFact]
    public void Dump_NatEntries_ReplyTupleTranslatedAndNatBitsSet()
    {
        Ns.Exec("conntrack", "-I", "-p", "tcp", "-s", "10.9.0.1", "-d", "192.0.2.10", "--sport", "5555", "--dport", "80",
            "-t", "100", "--state", "ESTABLISHED", "--dst-nat", "10.9.0.7:8080");
        Ns.Exec("conntrack", "-I", "-p", "udp", "-s", "10.9.0.1", "-d", "192.0.2.20", "--sport", "6666", "--dport", "53",
            "-t", "100", "--src-nat", "192.0.2.1:40000");

        List<KernelConntrackEntry> dump = Client.Dump();
        List<ConntrackToolLine> oracle = ToolList();

        KernelConntrackEntry dnat = dump.Single(d => d.Original.Protocol == IpProtocol.Tcp);
        dnat.Reply.Should().Be(new ConntrackTuple(NetAddress.Parse("10.9.0.7"), NetAddress.Parse("10.9.0.1"), IpProtocol.Tcp, 8080, 5555));
        dnat.Reply.Should().Be(oracle.Single(l => l.Original == dnat.Original).Reply);
        dnat.Status.Should().HaveFlag(ConntrackStatus.DestinationNat).And.NotHaveFlag(ConntrackStatus.SourceNat);

        KernelConntrackEntry snat = dump.Single(d => d.Original.Protocol == IpProtocol.Udp);
        snat.Reply.Should().Be(new ConntrackTuple(NetAddress.Parse("192.0.2.20"), NetAddress.Parse("192.0.2.1"), IpProtocol.Udp, 53, 40000));
        snat.Reply.Should().Be(oracle.Single(l => l.Original == snat.Original).Reply);
        snat.Status.Should().HaveFlag(ConntrackStatus.SourceNat).And.NotHaveFlag(ConntrackStatus.DestinationNat);
    }

    [RootFact]
    public void TryGet_RealDnatConnection_OriginalAndReplyTupleFindTheSameEntry()
    {
        Ns.Exec("ip", "link", "add", "va", "type", "veth", "peer", "name", "vb");
        Ns.Exec("ip", "addr", "add", "10.7.0.1/24", "dev", "va");
        Ns.Exec("ip", "link", "set", "va", "up");
        Ns.Exec("ip", "link", "set", "vb", "up");
        Ns.Exec("nft", "add table ip nat_t; add chain ip nat_t out { type nat hook output priority -100; }; " +
            "add rule ip nat_t out ip daddr 10.7.0.99 tcp dport 80 dnat to 10.7.0.1:8080");
        using Socket listener = Ns.Enter(() =>
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            s.Bind(new IPEndPoint(IPAddress.Parse("10.7.0.1"), 8080));
            s.Listen(1);
            return s;
        });
        using Socket client = Ns.Enter(() =>
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            s.Bind(new IPEndPoint(IPAddress.Parse("10.7.0.1"), 41000));
            s.Connect(new IPEndPoint(IPAddress.Parse("10.7.0.99"), 80));
            return s;
        });
        using Socket accepted = listener.Accept();
        var original = new ConntrackTuple(NetAddress.Parse("10.7.0.1"), NetAddress.Parse("10.7.0.99"), IpProtocol.Tcp, 41000, 80);
        // What the server's reply looks like on the wire, and so what the kernel emits towards it, inverted.
        var reply = new ConntrackTuple(NetAddress.Parse("10.7.0.1"), NetAddress.Parse("10.7.0.1"), IpProtocol.Tcp, 8080, 41000);

        KernelConntrackEntry? byOriginal = Client.TryGet(original, isReplyTuple: false);
        KernelConntrackEntry? byReply = Client.TryGet(reply, isReplyTuple: true);

        byOriginal.Should().NotBeNull();
        byReply.Should().NotBeNull();
        byOriginal!.Value.Original.Should().Be(original);
        byOriginal.Value.Reply.Should().Be(reply);
        byOriginal.Value.Status.Should().HaveFlag(ConntrackStatus.DestinationNat);
        byOriginal.Value.State.Should().Be(ConnState.Established);
        byReply!.Value.Id.Should().Be(byOriginal.Value.Id).And.NotBe(0u);
        byReply.Value.Original.Should().Be(original);
        byReply.Value.Reply.Should().Be(reply);
        ToolList().Single(l => l.Original == original).Reply.Should().Be(reply, "conntrack -L shows the same NAT");
        // The kernel's lookup is direction-blind: which attribute carries the tuple does not change what is found.
        Client.TryGet(reply, isReplyTuple: false)!.Value.Id.Should().Be(byOriginal.Value.Id);
    }

    [RootFact]
    public void TryGet_NoSuchEntry_ReturnsNull()
    {
        InsertSample();

        Client.TryGet(Udp with { SourcePort = 1112 }, isReplyTuple: false).Should().BeNull();
        Client.TryGet(Udp with { Destination = NetAddress.Parse("10.9.0.9") }, isReplyTuple: true).Should().BeNull();
    }

    [RootFact]
    public void TryGet_SampleEntries_SameAsTheDump()
    {
        InsertSample();
        List<KernelConntrackEntry> dump = Client.Dump();
        var zoned = new ConntrackTuple(NetAddress.Parse("10.9.0.3"), NetAddress.Parse("10.9.0.4"), IpProtocol.Udp, 7, 8);

        foreach (KernelConntrackEntry e in dump)
        {
            Client.TryGet(e.Original, isReplyTuple: false, e.Zone)!.Value.Id.Should().Be(e.Id);
            KernelConntrackEntry viaReply = Client.TryGet(e.Reply, isReplyTuple: true, e.Zone)!.Value;
            viaReply.Original.Should().Be(e.Original);
            viaReply.Reply.Should().Be(e.Reply);
            viaReply.Mark.Should().Be(e.Mark);
        }
        Client.TryGet(zoned, isReplyTuple: false).Should().BeNull("the entry lives in zone 5");
    }
}
