using System.Net.Sockets;
using Offload.Kernel.Conntrack;
using Offload.Kernel.Nflog;
using Offload.Kernel.Nftables;
using Offload.Kernel.Tests.Netns;
using Offload.Kernel.Tests.Nftables;
using Offload.Packets;
using Offload.Policy;

namespace Offload.Kernel.Tests.Nflog;

/// <summary>NFLOG records of the generated ruleset's drops, from the real kernel in routed namespaces.</summary>
public sealed class NflogListenerKernelTests
{
    private const ushort Group = 9;

    private const string Policy = """
        host: { name: h, underlay: { ip: 192.0.2.10, mac: "02:00:00:00:0a:01" }, uplink: ofl-up }
        networks:
          - { name: blue, vni: 100, cidr: 10.1.0.0/16 }
        ports:
          - { name: vm1, network: blue, mac: "02:00:00:01:00:01", ip: 10.1.0.1, host: h, interface: ofl-vm1 }
          - { name: vm2, network: blue, mac: "02:00:00:01:00:02", ip: 10.1.0.2, host: h, interface: ofl-vm2 }
        acl:
          mode: deny-list
          rules:
            - { priority: 100, action: deny, direction: egress, network: blue, protocol: tcp, dstPorts: "22" }
        """;

    private static uint IfIndex(NetworkNamespace ns, string device) =>
        uint.Parse(ns.Exec("cat", $"/sys/class/net/{device}/ifindex").Trim(), System.Globalization.CultureInfo.InvariantCulture);

    // Reads until the socket stays quiet: the drop was logged synchronously, before the connect gave up.
    private static List<NflogRecord> Drain(NflogListener listener)
    {
        var records = new List<NflogRecord>();
        while (listener.Receive(records) != NflogReceiveStatus.TimedOut)
        {
        }
        return records;
    }

    [RootFact]
    public void Receive_AclDeniedSyn_OneRecordNamingTheRuleWithTheSynsTuple()
    {
        PolicySnapshot policy = PolicyFixtures.Load(Policy);
        KernelTopology topology = KernelTopology.FromPolicy(policy) with { LogGroup = Group };
        using var host = new RoutedHost();
        NetworkNamespace vm1 = host.Vm("ofl-vm1", "10.1.0.1");
        NetworkNamespace vm2 = host.Vm("ofl-vm2", "10.1.0.2");
        host.Apply(NftablesRulesetGenerator.Generate(policy, topology));
        using NflogListener listener = host.Host.Enter(() => NflogListener.Open(Group, TimeSpan.FromMilliseconds(300), includeConntrack: true));
        using Socket ssh = RoutedHost.Listen(vm2, "10.1.0.2", 22);

        RoutedHost.ConnectExpectingDrop(vm1, "10.1.0.2", 22, localPort: 47000).Should().BeNull();
        List<NflogRecord> records = Drain(listener);

        var syn = new ConntrackTuple(NetAddress.Parse("10.1.0.1"), NetAddress.Parse("10.1.0.2"), IpProtocol.Tcp, 47000, 22);
        records.Where(r => r.Tuple == syn).Should().ContainSingle("one SYN was sent before the connect gave up");
        NflogRecord record = records.Single(r => r.Reason == DropReason.Acl);
        record.Prefix.Should().Be("acl:0");
        record.RuleId.Should().Be("0");
        record.HasTuple.Should().BeTrue();
        record.Tuple.Should().Be(syn);
        record.Group.Should().Be(Group);
        record.Hook.Should().Be(2, "the ACL runs in the forward hook");
        record.HardwareProtocol.Should().Be(EtherType.IPv4);
        record.InputInterfaceIndex.Should().Be(IfIndex(host.Host, "ofl-vm1"));
        record.OutputInterfaceIndex.Should().Be(IfIndex(host.Host, "ofl-vm2"));
        record.PayloadTruncated.Should().BeFalse();
        if (listener.IncludesConntrack)
            record.Conntrack!.Value.Original.Should().Be(syn);
        else
            record.Conntrack.Should().BeNull("this kernel cannot attach conntrack entries to NFLOG records");
        listener.MalformedMessages.Should().Be(0);
    }

    [RootFact]
    public void Receive_CopyRangeShorterThanPacket_TupleStillReadFromTheHeaders()
    {
        using NetworkNamespace ns = NetworkNamespace.Create();
        ns.Exec("nft", $"add table inet t; add chain inet t out {{ type filter hook output priority 0; }}; add rule inet t out udp dport 9 log group {Group} prefix \"no-route:test\" drop");
        using NflogListener listener = ns.Enter(() => NflogListener.Open(Group, TimeSpan.FromMilliseconds(300), copyRange: 48));
        ns.Enter(() =>
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 5555));
            try
            {
                socket.SendTo(new byte[500], new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 9));
            }
            catch (SocketException)
            {
                // The drop surfaces as EPERM on the sender; the record is what matters.
            }
            return 0;
        });

        List<NflogRecord> records = Drain(listener);

        NflogRecord record = records.Should().ContainSingle().Subject;
        record.Reason.Should().Be(DropReason.NoRoute);
        record.RuleId.Should().Be("test");
        record.Hook.Should().Be(3);
        record.InputInterfaceIndex.Should().Be(0u, "a locally generated packet has no input device");
        record.PayloadLength.Should().Be(48);
        record.PayloadTruncated.Should().BeTrue();
        record.Tuple.Should().Be(new ConntrackTuple(NetAddress.Parse("127.0.0.1"), NetAddress.Parse("127.0.0.1"), IpProtocol.Udp, 5555, 9));
    }

    [RootFact]
    public void Open_GroupAlreadyBound_ThrowsWithTheKernelsErrno()
    {
        using NetworkNamespace ns = NetworkNamespace.Create();
        using NflogListener first = ns.Enter(() => NflogListener.Open(Group, TimeSpan.FromMilliseconds(100)));

        Action second = () => ns.Enter(() => NflogListener.Open(Group, TimeSpan.FromMilliseconds(100))).Dispose();

        second.Should().Throw<InvalidOperationException>().WithInnerException<Offload.Kernel.Netlink.NetlinkException>()
            .Which.Errno.Should().Be(1, "EPERM: another socket holds the group");
    }

    [RootFact]
    public void Receive_Ipv6DropWithMark_V6TupleAndMark()
    {
        using NetworkNamespace ns = NetworkNamespace.Create();
        ns.Exec("nft", "add table inet t; add chain inet t out { type filter hook output priority 0; }; " +
            $"add rule inet t out meta l4proto udp udp dport 9 meta mark set 42 log group {Group} prefix \"acl:v6\" drop");
        using NflogListener listener = ns.Enter(() => NflogListener.Open(Group, TimeSpan.FromMilliseconds(300)));
        ns.Enter(() =>
        {
            using var socket = new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.IPv6Loopback, 5556));
            try
            {
                socket.SendTo(new byte[8], new System.Net.IPEndPoint(System.Net.IPAddress.IPv6Loopback, 9));
            }
            catch (SocketException)
            {
            }
            return 0;
        });

        List<NflogRecord> records = Drain(listener);

        NflogRecord record = records.Should().ContainSingle().Subject;
        record.Family.Should().Be(10);
        record.Reason.Should().Be(DropReason.Acl);
        record.RuleId.Should().Be("v6");
        record.Mark.Should().Be(42u);
        record.Tuple.Should().Be(new ConntrackTuple(NetAddress.Parse("::1"), NetAddress.Parse("::1"), IpProtocol.Udp, 5556, 9));
        record.PayloadLength.Should().Be(40 + 8 + 8);
    }

    private static void SendUdp(NetworkNamespace ns, int count, int destinationPort) => ns.Enter(() =>
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        for (int i = 0; i < count; i++)
        {
            try
            {
                socket.SendTo(new byte[100], new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, destinationPort));
            }
            catch (SocketException)
            {
            }
        }
        return 0;
    });

    [RootFact]
    public void Receive_OtherGroupsDrops_NotReceived()
    {
        using NetworkNamespace ns = NetworkNamespace.Create();
        ns.Exec("nft", "add table inet t; add chain inet t out { type filter hook output priority 0; }; " +
            $"add rule inet t out udp dport 9 log group {Group + 1} prefix \"acl:other\" drop; " +
            $"add rule inet t out udp dport 10 log group {Group} prefix \"acl:mine\" drop");
        using NflogListener listener = ns.Enter(() => NflogListener.Open(Group, TimeSpan.FromMilliseconds(300)));

        SendUdp(ns, 3, 9);
        SendUdp(ns, 2, 10);
        List<NflogRecord> records = Drain(listener);

        records.Should().HaveCount(2).And.OnlyContain(r => r.RuleId == "mine" && r.Group == Group);
    }

    [RootFact]
    public void Receive_MoreDropsThanTheSocketBufferHolds_ReportsOverflow()
    {
        using NetworkNamespace ns = NetworkNamespace.Create();
        ns.Exec("nft", $"add table inet t; add chain inet t out {{ type filter hook output priority 0; }}; add rule inet t out udp dport 9 log group {Group} prefix \"acl:0\" drop");
        using NflogListener listener = ns.Enter(() => NflogListener.Open(Group, TimeSpan.FromMilliseconds(300), socketBufferBytes: 1));

        SendUdp(ns, 2000, 9);
        var records = new List<NflogRecord>();
        var statuses = new List<NflogReceiveStatus>();
        NflogReceiveStatus status;
        while ((status = listener.Receive(records)) != NflogReceiveStatus.TimedOut)
            statuses.Add(status);

        statuses.Should().Contain(NflogReceiveStatus.Overflow);
        listener.Overflows.Should().BeGreaterThan(0);
        records.Count.Should().BeLessThan(2000, "some records were lost and said so");
        records.Should().OnlyContain(r => r.Reason == DropReason.Acl && r.Tuple.DestinationPort == 9);
        listener.MalformedMessages.Should().Be(0);
    }
}
