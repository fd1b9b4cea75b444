using System.Diagnostics;
using Offload.Cli.Output;
using Offload.Conntrack;
using Offload.Kernel.Conntrack;
using Offload.Kernel.Nftables;
using Offload.Packets;
using Offload.Policy;

namespace Offload.Cli.Demo;

/// <summary>
/// The demo's traffic, one scenario per claim, built with the addresses of the bundled policy
/// (<c>demo-policy.yaml</c>). Frames from VMs carry their port's MAC and frames from host-b come encapsulated to this
/// host's underlay address, so every frame finds its ingress port by the same rule <c>offload trace</c> uses.
/// </summary>
internal sealed class DemoTraffic(DemoRun run)
{
    private readonly record struct Vm(string Name, MacAddress Mac, NetAddress Ip, bool Local, bool Gre, uint Vni);

    private static readonly MacAddress Gateway = MacAddress.Parse("02:00:00:00:ff:fe");
    private static readonly MacAddress HostAMac = MacAddress.Parse("02:00:00:00:0a:01");
    private static readonly MacAddress HostBMac = MacAddress.Parse("02:00:00:00:0b:01");
    private static readonly NetAddress HostA = NetAddress.Parse("192.0.2.10");
    private static readonly NetAddress HostB = NetAddress.Parse("192.0.2.11");
    private static readonly NetAddress Vip = NetAddress.Parse("10.1.255.10");
    private static readonly NetAddress PublicIp = NetAddress.Parse("203.0.113.5");
    private static readonly NetAddress Internet = NetAddress.Parse("198.51.100.7");

    private static readonly Vm Vm1 = new("vm1", MacAddress.Parse("02:00:00:01:00:01"), NetAddress.Parse("10.1.0.1"), true, false, 100);
    private static readonly Vm Vm2 = new("vm2", MacAddress.Parse("02:00:00:01:00:02"), NetAddress.Parse("10.1.0.2"), true, false, 100);
    private static readonly Vm Vm3 = new("vm3", MacAddress.Parse("02:00:00:01:00:03"), NetAddress.Parse("10.1.0.3"), false, false, 100);
    private static readonly Vm Vm4 = new("vm4", MacAddress.Parse("02:00:00:02:00:04"), NetAddress.Parse("10.2.0.4"), true, true, 200);
    private static readonly Vm Vm5 = new("vm5", MacAddress.Parse("02:00:00:02:00:05"), NetAddress.Parse("10.2.0.5"), false, true, 200);

    /// <summary>The rule the mid-run policy change adds (S4): it denies the vm4 → vm5 connection on port 5201.</summary>
    public const string AddedRule = "    - { priority: 50, action: deny, direction: egress, network: red, protocol: tcp, dstPorts: \"5201\" }\n";

    public void Arp()
    {
        var s = run.Begin("A1", "ARP from vm1 for a peer (vm2) and for an off-network address (its gateway): the switch answers, nothing is flooded");
        s.Show(run.Send(DemoFrames.ArpRequest(Vm1.Mac, Vm1.Ip, Vm2.Ip)));
        s.Show(run.Send(DemoFrames.ArpRequest(Vm1.Mac, Vm1.Ip, Internet)));
        if (run is KernelDemoRun)
            s.Notes.Add("not the kernel's: the switch's own responder answers ARP (the kernel holds no VM address), as with the in-process slow path");
    }

    public void SameHost(int connections)
    {
        var s = run.Begin("C8", $"same host: {connections} TCP connections vm1 → vm2:80 (handshake, data, FIN close for every other one) and a ping");
        var kernel = run as KernelDemoRun;
        IReadOnlyDictionary<string, NftablesCounter>? afterHandshake = null;
        for (int c = 0; c < connections; c++)
        {
            // On the kernel path the first connection shows where its packets went: the handshake through the kernel,
            // the data segments not (no nft counter moves while they pass).
            Action? handshakeDone = null, dataDone = null;
            if (c == 0 && kernel is not null)
            {
                handshakeDone = () => afterHandshake = kernel.RuleCounters();
                dataDone = () => s.Notes.Add(FirstConnectionEvidence(kernel, afterHandshake!));
            }
            var entries = Tcp(Vm1, Vm2, (ushort)(40000 + c), 80, dataSegments: 4, close: c % 2 == 0, handshakeDone, dataDone);
            if (c == 0)
            {
                s.Show(entries[0]);
                s.Show(entries[1]);
                s.Show(entries[4]);
            }
        }
        for (ushort seq = 1; seq <= 3; seq++)
        {
            var ping = run.Send(DemoFrames.Echo(Vm1.Mac, Vm2.Mac, Vm1.Ip, Vm2.Ip, 7, seq, reply: false));
            var pong = run.Send(DemoFrames.Echo(Vm2.Mac, Vm1.Mac, Vm2.Ip, Vm1.Ip, 7, seq, reply: true));
            if (seq == 1)
            {
                s.Show(ping);
                s.Show(pong);
            }
        }
    }

    private static string FirstConnectionEvidence(KernelDemoRun kernel, IReadOnlyDictionary<string, NftablesCounter> afterHandshake)
    {
        var moved = KernelDemoRun.Delta(afterHandshake, kernel.RuleCounters());
        var entry = kernel.KernelEntry(new ConntrackTuple(Vm1.Ip, Vm2.Ip, IpProtocol.Tcp, 40000, 80));
        string table = entry is { } e
            ? $"the kernel's conntrack entry is {e.State.Name()} with packets={e.OriginalPackets}/{e.ReplyPackets} (original/reply: the handshake only)"
            : "the kernel has no conntrack entry for it";
        return $"vm1:40000 > vm2:80: after the handshake went through the kernel, its 8 data segments moved " +
               $"{(moved.Count == 0 ? "no nft rule counter" : "nft rule counters " + string.Join(", ", moved))}; {table}";
    }

    public void Tunnels()
    {
        var s = run.Begin("C9 C12-C15", "other host: vm1 → vm3 over VXLAN (vni 100), vm1 → vm5 in the peered network over GRE (vni 200), replies decapsulated");
        for (int i = 0; i < 8; i++)
        {
            var e = run.Send(DemoFrames.Udp(Vm1.Mac, Gateway, Vm1.Ip, 5353, Vm3.Ip, 53, 40));
            if (i == 0)
                s.Show(e);
            if (i is 1 or 4)
            {
                var reply = FromHostB(Vm1, DemoFrames.Udp(Vm3.Mac, Gateway, Vm3.Ip, 53, Vm1.Ip, 5353, 80));
                if (i == 1)
                    s.Show(reply);
            }
        }
        for (int i = 0; i < 4; i++)
        {
            var e = run.Send(DemoFrames.Udp(Vm1.Mac, Gateway, Vm1.Ip, 6000, Vm5.Ip, 6000, 100));
            if (i == 0)
                s.Show(e);
            if (i == 1)
                s.Show(FromHostB(Vm1, DemoFrames.Udp(Vm5.Mac, Gateway, Vm5.Ip, 6000, Vm1.Ip, 6000, 100)));
        }
        var gre = Tcp(Vm4, Vm5, 45000, 5201, dataSegments: 10, close: false);
        s.Show(gre[0]);
        s.Show(gre[1]);
    }

    public void LoadBalancer(int connections)
    {
        var s = run.Begin("C10", $"load balancer: {connections} connections vm1 → VIP 10.1.255.10:80, DNAT to a Maglev-chosen backend, replies un-NATed");
        bool local = false, remote = false;
        for (int c = 0; c < connections; c++)
        {
            ushort sport = (ushort)(50000 + c);
            var syn = run.Send(DemoFrames.Tcp(Vm1.Mac, Gateway, Vm1.Ip, sport, Vip, 80, TcpFlags.Syn, 1, 0, 0));
            var backend = syn.Sent.Headers?.DstIp == Vm2.Ip ? Vm2 : Vm3;
            var synAck = Send(backend, Vm1, DemoFrames.Tcp(backend.Mac, Gateway, backend.Ip, 8080, Vm1.Ip, sport, TcpFlags.Syn | TcpFlags.Ack, 500, 2, 0));
            run.Send(DemoFrames.Tcp(Vm1.Mac, Gateway, Vm1.Ip, sport, Vip, 80, TcpFlags.Ack, 2, 501, 0));
            run.Send(DemoFrames.Tcp(Vm1.Mac, Gateway, Vm1.Ip, sport, Vip, 80, TcpFlags.Ack | TcpFlags.Psh, 2, 501, 120));
            if ((backend.Local && !local) || (!backend.Local && !remote))
            {
                s.Show(syn);
                s.Show(synAck);
                local |= backend.Local;
                remote |= !backend.Local;
            }
        }
    }

    public void Snat()
    {
        var s = run.Begin("C11", "public network: vm1 → 198.51.100.7:443, SNAT to 203.0.113.5, and the reply from the public side");
        const ushort sport = 41000;
        var syn = s.Show(run.Send(DemoFrames.Tcp(Vm1.Mac, Gateway, Vm1.Ip, sport, Internet, 443, TcpFlags.Syn, 1, 0, 0)));
        ushort publicPort = syn.Sent.Headers?.SrcPort ?? 0;
        s.Show(run.Send(DemoFrames.Tcp(Gateway, HostAMac, Internet, 443, PublicIp, publicPort, TcpFlags.Syn | TcpFlags.Ack, 700, 2, 0)));
        run.Send(DemoFrames.Tcp(Vm1.Mac, Gateway, Vm1.Ip, sport, Internet, 443, TcpFlags.Ack, 2, 701, 0));
        for (int i = 0; i < 3; i++)
        {
            run.Send(DemoFrames.Tcp(Vm1.Mac, Gateway, Vm1.Ip, sport, Internet, 443, TcpFlags.Ack | TcpFlags.Psh, (uint)(2 + 100 * i), 701, 100));
            var back = run.Send(DemoFrames.Tcp(Gateway, HostAMac, Internet, 443, PublicIp, publicPort, TcpFlags.Ack | TcpFlags.Psh, 701, (uint)(102 + 100 * i), 400));
            if (i == 2)
                s.Show(back);
        }
    }

    public void Acl()
    {
        var s = run.Begin("C6", "ACL: SSH inside blue is denied (first SYN decided by the slow path, the retries hit the cached drop flow)");
        for (int i = 0; i < 3; i++)
        {
            var e = run.Send(DemoFrames.Tcp(Vm1.Mac, Vm2.Mac, Vm1.Ip, 42000, Vm2.Ip, 22, TcpFlags.Syn, 1, 0, 0));
            if (i is 0 or 2)
                s.Show(e);
        }
    }

    public void SecurityGroup()
    {
        var s = run.Begin("S1", "security group 'web' on vm2: unsolicited inbound denied, vm2's own outbound connection and its reply allowed");
        s.Show(run.Send(DemoFrames.Udp(Vm1.Mac, Vm2.Mac, Vm1.Ip, 7000, Vm2.Ip, 9999, 20)));
        s.Show(FromHostB(Vm2, DemoFrames.Tcp(Vm3.Mac, Gateway, Vm3.Ip, 43000, Vm2.Ip, 3306, TcpFlags.Syn, 1, 0, 0)));
        s.Show(run.Send(DemoFrames.Tcp(Vm2.Mac, Gateway, Vm2.Ip, 44000, Vm3.Ip, 443, TcpFlags.Syn, 1, 0, 0)));
        s.Show(FromHostB(Vm2, DemoFrames.Tcp(Vm3.Mac, Gateway, Vm3.Ip, 443, Vm2.Ip, 44000, TcpFlags.Syn | TcpFlags.Ack, 900, 2, 0)));
        run.Send(DemoFrames.Tcp(Vm2.Mac, Gateway, Vm2.Ip, 44000, Vm3.Ip, 443, TcpFlags.Ack, 2, 901, 0));
    }

    public void Qos()
    {
        var s = run.Begin("S2", "QoS on vm4 (10 Mbit/s, burst 32 KB): once vm5's reply established the flow, a burst of 60 × 1 KB datagrams to vm5 back to back");
        s.Show(run.Send(DemoFrames.Udp(Vm4.Mac, Gateway, Vm4.Ip, 7001, Vm5.Ip, 7001, 1000)));
        // The reply makes the flow established, so the burst runs on the fast path where the meter is (on the kernel
        // path an unreplied flow's datagrams would each go through the kernel, too slowly to exceed the rate).
        s.Show(FromHostB(Vm4, DemoFrames.Udp(Vm5.Mac, Gateway, Vm5.Ip, 7001, Vm4.Ip, 7001, 20)));
        TraceEntry? firstDrop = null;
        for (int i = 0; i < 60; i++)
        {
            var e = run.Send(DemoFrames.Udp(Vm4.Mac, Gateway, Vm4.Ip, 7001, Vm5.Ip, 7001, 1000), sameInstant: true);
            if (firstDrop is null && e.Reason == "qos")
                firstDrop = s.Show(e);
        }
        if (run is KernelDemoRun)
            s.Notes.Add("not the kernel's: QoS is the fast path's meter (the ruleset has none); the learned actions charge vm4's meter, " +
                        "which KernelSwitch sets from the policy's qos");
        run.Wait(TimeSpan.FromMilliseconds(100)); // the 32 KB bucket refills (in 26 ms) before the next scenario uses vm4
    }

    public void PolicyChange(string policyYaml)
    {
        var s = run.Begin("S4", "policy change mid-run: an ACL rule denying tcp/5201 in red is added; the established vm4 → vm5 connection is revalidated away");
        var before = run.Send(DemoFrames.Tcp(Vm4.Mac, Gateway, Vm4.Ip, 45000, Vm5.Ip, 5201, TcpFlags.Ack | TcpFlags.Psh, 2001, 14001, 100));
        s.Show(before);
        int at = policyYaml.IndexOf("  rules:\n", StringComparison.Ordinal);
        var changed = PolicyLoader.Load(policyYaml.Insert(at + "  rules:\n".Length, AddedRule));
        if (changed.Snapshot is null)
            throw new InvalidOperationException($"the demo's changed policy is invalid: {changed.Errors[0]}");
        long started = Stopwatch.GetTimestamp();
        var result = run.ApplyPolicy(changed.Snapshot);
        var wall = Stopwatch.GetElapsedTime(started);
        s.Notes.Add($"revalidated {result.Checked} connections: {result.Updated} updated, {result.Removed} removed, " +
                    $"{result.DropFlowsRemoved} drop flows removed ({wall.TotalMilliseconds:F2} ms)");
        if (run is KernelDemoRun kernel)
        {
            // The adapter's thread deletes it (it owns the ctnetlink socket), so it is looked for until it is gone.
            var tuple = new ConntrackTuple(Vm4.Ip, Vm5.Ip, IpProtocol.Tcp, 45000, 5201);
            var wait = Stopwatch.StartNew();
            bool gone;
            while (!(gone = kernel.KernelEntry(tuple) is null) && wait.Elapsed < TimeSpan.FromSeconds(3))
                Thread.Sleep(5);
            s.Notes.Add("the kernel's ruleset was replaced in one batch; the kernel's conntrack entry of vm4:45000 > vm5:5201 " +
                        (gone ? "was deleted by the revalidation" : "is still there after 3 s"));
        }
        s.Show(run.Send(DemoFrames.Tcp(Vm4.Mac, Gateway, Vm4.Ip, 45000, Vm5.Ip, 5201, TcpFlags.Ack | TcpFlags.Psh, 2101, 14001, 100)));
        s.Show(run.Send(DemoFrames.Tcp(Vm1.Mac, Vm2.Mac, Vm1.Ip, 40001, Vm2.Ip, 80, TcpFlags.Ack | TcpFlags.Psh, 1401, 11001, 100)));
    }

    public void BadInput()
    {
        var s = run.Begin("bad input", "malformed and unexpected frames: each a counted drop with its reason");
        var truncated = new byte[13];
        Vm1.Mac.WriteTo(truncated.AsSpan(6));
        s.Show(run.Send(truncated));
        s.Show(run.Send(DemoFrames.Udp(MacAddress.Parse("02:00:00:99:99:99"), Gateway, NetAddress.Parse("10.1.0.99"), 1, Vm2.Ip, 80, 10)));
        var badIhl = DemoFrames.Udp(Vm1.Mac, Gateway, Vm1.Ip, 1, Vm2.Ip, 80, 10);
        badIhl[14] = 0x43;
        s.Show(run.Send(badIhl));
        s.Show(run.Send(DemoFrames.Udp(Vm1.Mac, Gateway, NetAddress.Parse("10.1.0.77"), 1, Vm2.Ip, 80, 10)));
        var badVxlan = DemoFrames.Vxlan(DemoFrames.Udp(Vm3.Mac, Gateway, Vm3.Ip, 53, Vm1.Ip, 5353, 10), 100, HostBMac, HostAMac, HostB, HostA, 49152);
        badVxlan[14 + 20 + 8] = 0; // VXLAN flags without the I bit
        s.Show(run.Send(badVxlan));
        var lldp = DemoFrames.Udp(Vm1.Mac, MacAddress.Parse("01:80:c2:00:00:0e"), Vm1.Ip, 1, Vm2.Ip, 80, 10);
        lldp[12] = 0x88;
        lldp[13] = 0xcc;
        s.Show(run.Send(lldp));
        if (run is KernelDemoRun)
            s.Notes.Add("frames the datapath drops before any slow path (malformed headers, an unknown port, an unsupported EtherType) never reach the kernel; " +
                        "the spoofed source is dropped by the kernel's anti-spoofing rule");
    }

    // A TCP connection: handshake, data both ways, optionally a FIN close. Returns every frame's result in order.
    // handshakeDone and dataDone, when given, run after the handshake and after the data.
    private List<TraceEntry> Tcp(Vm client, Vm server, ushort sport, ushort dport, int dataSegments, bool close,
        Action? handshakeDone = null, Action? dataDone = null)
    {
        var results = new List<TraceEntry>();
        uint cs = 1000, ss = 9000;
        Client(TcpFlags.Syn, cs++, 0, 0);
        Server(TcpFlags.Syn | TcpFlags.Ack, ss++, cs, 0);
        Client(TcpFlags.Ack, cs, ss, 0);
        handshakeDone?.Invoke();
        for (int d = 0; d < dataSegments; d++)
        {
            Client(TcpFlags.Ack | TcpFlags.Psh, cs, ss, 100);
            cs += 100;
            Server(TcpFlags.Ack | TcpFlags.Psh, ss, cs, 500);
            ss += 500;
        }
        dataDone?.Invoke();
        if (close)
        {
            Client(TcpFlags.Fin | TcpFlags.Ack, cs++, ss, 0);
            Server(TcpFlags.Fin | TcpFlags.Ack, ss++, cs, 0);
            Client(TcpFlags.Ack, cs, ss, 0);
        }
        return results;

        void Client(TcpFlags f, uint seq, uint ack, int len) =>
            results.Add(Send(client, server, DemoFrames.Tcp(client.Mac, MacFor(client, server), client.Ip, sport, server.Ip, dport, f, seq, ack, len)));
        void Server(TcpFlags f, uint seq, uint ack, int len) =>
            results.Add(Send(server, client, DemoFrames.Tcp(server.Mac, MacFor(server, client), server.Ip, dport, client.Ip, sport, f, seq, ack, len)));
    }

    // A VM sends to a peer in its own network by the MAC the switch answered for it, elsewhere through the gateway.
    private static MacAddress MacFor(Vm from, Vm to) => from.Vni == to.Vni ? to.Mac : Gateway;

    private TraceEntry Send(Vm from, Vm to, byte[] frame) => from.Local ? run.Send(frame) : FromHostB(to, frame);

    // host-b's switch encapsulates with the tunnel type and VNI of the destination's network (C9).
    private TraceEntry FromHostB(Vm to, byte[] inner) =>
        run.Send(to.Gre
            ? DemoFrames.Gre(inner, to.Vni, HostBMac, HostAMac, HostB, HostA)
            : DemoFrames.Vxlan(inner, to.Vni, HostBMac, HostAMac, HostB, HostA, 49152));
}
