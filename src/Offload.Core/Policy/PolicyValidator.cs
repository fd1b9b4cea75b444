using System.Globalization;
using System.Text.RegularExpressions;
using Offload.Actions;
using Offload.Conntrack;
using Offload.Datapath;
using Offload.Packets;

namespace Offload.Policy;

/// <summary>
/// Checks a whole <see cref="PolicySnapshot"/> and reports every problem, not just the first: dangling references,
/// duplicate names, VNIs, addresses and MACs, overlapping networks, addresses outside their network, load-balancer,
/// SNAT, QoS, ACL and conntrack values that cannot work. Decisions a user may trip over:
/// <list type="bullet">
/// <item>ACL rules of equal priority with opposite actions are an error only when they can match the same packet
/// (same direction or <c>both</c>, same or unset network, overlapping prefixes, protocols and ports); otherwise
/// equal priorities are fine. At run time a higher priority wins and deny wins a tie.</item>
/// <item>A port on another host with an <c>interface</c> is an error: the interface is a device on this host.</item>
/// <item>QoS on a port of another host is accepted and applies where the port is.</item>
/// </list>
/// </summary>
public static class PolicyValidator
{
    /// <summary>Largest VNI (24 bits).</summary>
    public const int MaxVni = 16_777_215;

    /// <summary>Smallest QoS burst: one 1500-byte frame, rounded up to whole KiB.</summary>
    public const int MinBurstKb = 2;

    /// <summary>Largest QoS rate (1 Tb/s).</summary>
    public const double MaxRateMbps = 1_000_000;

    /// <summary>Longest Linux interface name (IFNAMSIZ − 1).</summary>
    public const int MaxInterfaceNameLength = 15;

    /// <summary>Every problem with <paramref name="snapshot"/>, ordered by path in document order; empty when valid.</summary>
    public static IReadOnlyList<PolicyError> Validate(PolicySnapshot snapshot) =>
        Collect(snapshot).OrderBy(e => e.Path, PolicyPathOrder.Instance).ToArray();

    /// <param name="s">The snapshot.</param>
    /// <param name="unreadable">Paths the loader could not read; a name among them may be the one a reference
    /// means, so references of that kind are not reported as dangling.</param>
    internal static List<PolicyError> Collect(PolicySnapshot s, IReadOnlySet<string>? unreadable = null)
    {
        ArgumentNullException.ThrowIfNull(s);
        var v = new Checker(s, unreadable ?? new HashSet<string>());
        v.Run();
        return v.Errors;
    }

    private sealed class Checker(PolicySnapshot s, IReadOnlySet<string> unreadable)
    {
        internal readonly List<PolicyError> Errors = [];
        private readonly bool _networkNamesUncertain = NamesUncertain(unreadable, "networks");
        private readonly bool _portNamesUncertain = NamesUncertain(unreadable, "ports");
        private readonly bool _hostNamesUncertain = NamesUncertain(unreadable, "hosts") || unreadable.Contains("host") || unreadable.Contains("host.name");

        // True when the list, one of its items or an item's name could not be read: "networks", "networks[2]", "networks[2].name".
        private static bool NamesUncertain(IReadOnlySet<string> unreadable, string list) =>
            unreadable.Any(p => Regex.IsMatch(p, $@"^{list}(\[[0-9]+\](\.name)?)?$", RegexOptions.CultureInvariant));
        private readonly Dictionary<string, int> _networks = new(StringComparer.Ordinal);
        private readonly Dictionary<string, int> _ports = new(StringComparer.Ordinal);
        private readonly Dictionary<MacAddress, string> _macs = [];

        private void Add(string path, string message) => Errors.Add(new PolicyError(path, message));

        internal void Run()
        {
            Host();
            Networks();
            Peerings();
            Ports();
            Acl();
            SecurityGroups();
            LoadBalancers();
            Snat();
            Qos();
            Conntrack();
            Offload();
        }

        private void Host()
        {
            var h = s.Host;
            Name("host.name", h.Name);
            Underlay("host.underlay", h.Underlay);
            if (h.GatewayMac is { } gw)
                Mac("host.gatewayMac", gw);
            if (h.Uplink is not null)
                InterfaceName("host.uplink", h.Uplink);
            var hostNames = new Dictionary<string, string>(StringComparer.Ordinal);
            if (h.Name.Length > 0)
                hostNames[h.Name] = "host.name";
            var underlayIps = new Dictionary<NetAddress, string>();
            if (h.Underlay is { Ip.IsNone: false })
                underlayIps[h.Underlay.Ip] = "host.underlay.ip";
            for (int i = 0; i < s.Hosts.Length; i++)
            {
                var r = s.Hosts[i];
                string p = $"hosts[{i}]";
                Name(p + ".name", r.Name);
                if (r.Name.Length > 0 && !hostNames.TryAdd(r.Name, p + ".name"))
                    Add(p + ".name", $"duplicate host name '{r.Name}' (also {hostNames[r.Name]})");
                Underlay(p + ".underlay", r.Underlay);
                if (r.Underlay is { Ip.IsNone: false } && !underlayIps.TryAdd(r.Underlay.Ip, p + ".underlay.ip"))
                    Add(p + ".underlay.ip", $"duplicate underlay IP {r.Underlay.Ip} (also {underlayIps[r.Underlay.Ip]})");
            }
        }

        private void Underlay(string path, UnderlayConfig? u)
        {
            if (u is null)
            {
                Add(path, "must be set");
                return;
            }
            if (u.Ip.IsNone)
                Add(path + ".ip", "must be set");
            Mac(path + ".mac", u.Mac);
        }

        private void Networks()
        {
            var vnis = new Dictionary<int, string>();
            for (int i = 0; i < s.Networks.Length; i++)
            {
                var n = s.Networks[i];
                string p = $"networks[{i}]";
                // An invalid name is still registered, so references to it are not reported a second time.
                Name(p + ".name", n.Name);
                if (n.Name.Length > 0 && !_networks.TryAdd(n.Name, i))
                    Add(p + ".name", $"duplicate network name '{n.Name}' (also networks[{_networks[n.Name]}])");
                if (n.Vni is < 1 or > MaxVni)
                    Add(p + ".vni", $"must be between 1 and {MaxVni} (was {n.Vni})");
                else if (!vnis.TryAdd(n.Vni, p))
                    Add(p + ".vni", $"duplicate VNI {n.Vni} (also {vnis[n.Vni]})");
                if (n.Cidr.IsNone)
                    Add(p + ".cidr", "must be set");
                if (!n.Cidr6.IsNone && (n.Cidr6.IsV4 || !n.Cidr.IsV4))
                    Add(p + ".cidr6", n.Cidr6.IsV4
                        ? $"must be an IPv6 prefix (was {n.Cidr6})"
                        : $"is only for an IPv4 network's second, IPv6 prefix; this network's cidr {n.Cidr} is already IPv6");
                if (!Enum.IsDefined(n.Tunnel))
                    Add(p + ".tunnel", $"must be vxlan or gre (was {n.Tunnel})");
                for (int j = 0; j < i; j++)
                {
                    var other = s.Networks[j];
                    foreach (var (key, mine) in new[] { ("cidr", n.Cidr), ("cidr6", n.Cidr6) })
                    {
                        foreach (var (otherKey, theirs) in new[] { ("cidr", other.Cidr), ("cidr6", other.Cidr6) })
                        {
                            if (mine.Overlaps(theirs))
                                Add($"{p}.{key}", $"{mine} overlaps networks[{j}].{otherKey} {theirs} of network '{other.Name}'");
                        }
                    }
                }
            }
        }

        private void Peerings()
        {
            for (int i = 0; i < s.Peerings.Length; i++)
            {
                var pe = s.Peerings[i];
                string p = $"peerings[{i}]";
                NetworkRef(p + "[0]", pe.First);
                NetworkRef(p + "[1]", pe.Second);
                if (string.Equals(pe.First, pe.Second, StringComparison.Ordinal))
                    Add(p, $"a network cannot be peered with itself ('{pe.First}')");
                for (int j = 0; j < i; j++)
                {
                    if (s.Peerings[j].Joins(pe.First, pe.Second))
                    {
                        Add(p, $"duplicate of peerings[{j}]");
                        break;
                    }
                }
            }
        }

        private void Ports()
        {
            var hosts = new HashSet<string>(StringComparer.Ordinal) { s.Host.Name };
            foreach (var h in s.Hosts)
                hosts.Add(h.Name);
            if (s.Host.Underlay is { } u)
                _macs.TryAdd(u.Mac, "host.underlay.mac");
            if (s.Host.GatewayMac is { } gw && !_macs.TryAdd(gw, "host.gatewayMac"))
                Add("host.gatewayMac", $"duplicate MAC {gw} (also {_macs[gw]})");
            for (int i = 0; i < s.Hosts.Length; i++)
                MacUnique($"hosts[{i}].underlay.mac", s.Hosts[i].Underlay?.Mac ?? default);

            var ips = new Dictionary<NetAddress, string>();
            var interfaces = new Dictionary<string, string>(StringComparer.Ordinal);
            for (int i = 0; i < s.Ports.Length; i++)
            {
                var port = s.Ports[i];
                string p = $"ports[{i}]";
                Name(p + ".name", port.Name);
                if (port.Name.Length > 0)
                {
                    if (string.Equals(port.Name, "uplink", StringComparison.Ordinal))
                        Add(p + ".name", "'uplink' is reserved for the physical NIC; choose another port name");
                    else if (!_ports.TryAdd(port.Name, i))
                        Add(p + ".name", $"duplicate port name '{port.Name}' (also ports[{_ports[port.Name]}])");
                }
                var network = NetworkRef(p + ".network", port.Network);
                if (!hosts.Contains(port.Host) && !_hostNamesUncertain)
                    Add(p + ".host", $"unknown host '{port.Host}'{Hint(port.Host, hosts)}");
                Mac(p + ".mac", port.Mac);
                MacUnique(p + ".mac", port.Mac);

                if (port.Ip.IsNone)
                    Add(p + ".ip", "must be set");
                else
                {
                    if (network is { Cidr.IsNone: false } && !network.Cidr.Contains(port.Ip))
                        Add(p + ".ip", $"{port.Ip} is outside network '{network.Name}' ({network.Cidr})");
                    if (!ips.TryAdd(port.Ip, p + ".ip"))
                        Add(p + ".ip", $"duplicate IP {port.Ip} (also {ips[port.Ip]})");
                }
                if (port.Ipv6 is { } v6)
                {
                    var v6Prefix = network is null ? Prefix.None : !network.Cidr.IsV4 ? network.Cidr : network.Cidr6;
                    if (v6.IsV4)
                        Add(p + ".ipv6", $"must be an IPv6 address (was {v6})");
                    else if (network is not null && v6Prefix.IsNone)
                        Add(p + ".ipv6", $"network '{network.Name}' has no IPv6 prefix (set its cidr6)");
                    else if (network is not null && !v6Prefix.Contains(v6))
                        Add(p + ".ipv6", $"{v6} is outside network '{network.Name}' ({v6Prefix})");
                    if (!ips.TryAdd(v6, p + ".ipv6"))
                        Add(p + ".ipv6", $"duplicate IP {v6} (also {ips[v6]})");
                }

                if (port.Interface is { } dev)
                {
                    if (!s.IsLocal(port) && !_hostNamesUncertain)
                        Add(p + ".interface", $"only ports on this host ('{s.Host.Name}') have an interface; this port is on '{port.Host}'");
                    else if (InterfaceName(p + ".interface", dev) && !interfaces.TryAdd(dev, p + ".interface"))
                        Add(p + ".interface", $"interface '{dev}' is already used by {interfaces[dev]}");
                }
            }
        }

        private void Acl()
        {
            var acl = s.Acl;
            if (!Enum.IsDefined(acl.Mode))
                Add("acl.mode", $"must be deny-list or allow-list (was {acl.Mode})");
            for (int i = 0; i < acl.Rules.Length; i++)
            {
                var r = acl.Rules[i];
                string p = $"acl.rules[{i}]";
                if (r.Priority < 0)
                    Add(p + ".priority", $"must be 0 or more (was {r.Priority}); higher priorities win");
                if (!Enum.IsDefined(r.Action))
                    Add(p + ".action", $"must be allow or deny (was {r.Action})");
                if (!Enum.IsDefined(r.Direction))
                    Add(p + ".direction", $"must be ingress, egress or both (was {r.Direction})");
                if (r.Network is not null)
                    NetworkRef(p + ".network", r.Network);
                if (!r.Src.IsNone && !r.Dst.IsNone && r.Src.IsV4 != r.Dst.IsV4)
                    Add(p + ".dst", $"{r.Dst} and src {r.Src} are of different IP families, so the rule can never match");
                PortsNeedTcpOrUdp(p + ".srcPorts", r.SrcPorts, r.Protocol);
                PortsNeedTcpOrUdp(p + ".dstPorts", r.DstPorts, r.Protocol);
                for (int j = 0; j < i; j++)
                {
                    var o = acl.Rules[j];
                    if (o.Priority == r.Priority && o.Action != r.Action && r.Priority >= 0 && CanMatchSamePacket(o, r))
                    {
                        Add(p + ".priority", $"priority {r.Priority} is also acl.rules[{j}]'s, which has the opposite action and can match the same " +
                            "traffic; give the one that should win a higher priority");
                        break;
                    }
                }
            }
        }

        private static bool CanMatchSamePacket(AclRuleConfig a, AclRuleConfig b) =>
            (a.Direction == b.Direction || a.Direction == TrafficDirection.Both || b.Direction == TrafficDirection.Both)
            && (a.Network is null || b.Network is null || string.Equals(a.Network, b.Network, StringComparison.Ordinal))
            && (a.Protocol is null || b.Protocol is null || a.Protocol == b.Protocol)
            && PrefixesMeet(a.Src, b.Src) && PrefixesMeet(a.Dst, b.Dst)
            && (a.SrcPorts is null || b.SrcPorts is null || a.SrcPorts.Intersects(b.SrcPorts))
            && (a.DstPorts is null || b.DstPorts is null || a.DstPorts.Intersects(b.DstPorts));

        private static bool PrefixesMeet(Prefix a, Prefix b) => a.IsNone || b.IsNone || a.Overlaps(b);

        private void SecurityGroups()
        {
            var names = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int i = 0; i < s.SecurityGroups.Length; i++)
            {
                var g = s.SecurityGroups[i];
                string p = $"securityGroups[{i}]";
                if (Name(p + ".name", g.Name) && !names.TryAdd(g.Name, i))
                    Add(p + ".name", $"duplicate security group name '{g.Name}' (also securityGroups[{names[g.Name]}])");
                var seen = new HashSet<string>(StringComparer.Ordinal);
                for (int j = 0; j < g.Ports.Length; j++)
                {
                    if (PortRef($"{p}.ports[{j}]", g.Ports[j]) && !seen.Add(g.Ports[j]))
                        Add($"{p}.ports[{j}]", $"port '{g.Ports[j]}' is listed twice");
                }
                if (!Enum.IsDefined(g.Inbound))
                    Add(p + ".inbound", $"must be allow or deny (was {g.Inbound})");
                for (int j = 0; j < g.AllowInbound.Length; j++)
                    PortsNeedTcpOrUdp($"{p}.allowInbound[{j}].dstPorts", g.AllowInbound[j].DstPorts, g.AllowInbound[j].Protocol);
            }
        }

        private void LoadBalancers()
        {
            var names = new Dictionary<string, int>(StringComparer.Ordinal);
            var services = new Dictionary<(NetAddress, ushort, byte), int>();
            var portIps = new Dictionary<NetAddress, string>();
            foreach (var port in s.Ports)
            {
                portIps.TryAdd(port.Ip, port.Name);
                if (port.Ipv6 is { } v6)
                    portIps.TryAdd(v6, port.Name);
            }
            for (int i = 0; i < s.LoadBalancers.Length; i++)
            {
                var lb = s.LoadBalancers[i];
                string p = $"loadBalancers[{i}]";
                if (Name(p + ".name", lb.Name) && !names.TryAdd(lb.Name, i))
                    Add(p + ".name", $"duplicate load balancer name '{lb.Name}' (also loadBalancers[{names[lb.Name]}])");
                var network = NetworkRef(p + ".network", lb.Network);
                if (lb.Port == 0)
                    Add(p + ".port", "must be between 1 and 65535 (was 0)");
                if (lb.Protocol is not (IpProtocol.Tcp or IpProtocol.Udp))
                    Add(p + ".protocol", $"must be tcp or udp (was {(lb.Protocol == 0 ? "any" : IpProtocol.Name(lb.Protocol))})");
                if (!Enum.IsDefined(lb.Algorithm))
                    Add(p + ".algorithm", $"must be random, least-connections or maglev (was {lb.Algorithm})");
                if (lb.Vip.IsNone)
                    Add(p + ".vip", "must be set");
                else
                {
                    if (network is not null && !network.Contains(lb.Vip))
                        Add(p + ".vip", $"{lb.Vip} is outside network '{network.Name}' ({Describe(network)})");
                    if (portIps.TryGetValue(lb.Vip, out string? owner))
                        Add(p + ".vip", $"{lb.Vip} is the address of port '{owner}'; a VIP must not be a VM's address");
                    if (!services.TryAdd((lb.Vip, lb.Port, lb.Protocol), i))
                        Add(p + ".vip", $"{lb.Vip}:{lb.Port}/{IpProtocol.Name(lb.Protocol)} is already served by loadBalancers[{services[(lb.Vip, lb.Port, lb.Protocol)]}]");
                }
                if (lb.Backends.IsDefaultOrEmpty)
                {
                    Add(p + ".backends", "must list at least one backend");
                    continue;
                }
                var backends = new Dictionary<(NetAddress, ushort), int>();
                for (int j = 0; j < lb.Backends.Length; j++)
                {
                    var b = lb.Backends[j];
                    string bp = $"{p}.backends[{j}]";
                    if (b.Ip.IsNone)
                        Add(bp + ".ip", "must be set");
                    else if (b.Ip == lb.Vip)
                        Add(bp + ".ip", $"{b.Ip} is this load balancer's VIP; a backend must be a real address");
                    else if (!lb.Vip.IsNone && b.Ip.IsV4 != lb.Vip.IsV4)
                        Add(bp + ".ip", $"{b.Ip} is not of the VIP's IP family ({lb.Vip})");
                    else if (network is not null && !ReachableFrom(network, b.Ip))
                        Add(bp + ".ip", $"{b.Ip} is neither in network '{network.Name}' ({Describe(network)}) nor in a network peered with it");
                    if (b.Port == 0)
                        Add(bp + ".port", "must be between 1 and 65535 (was 0)");
                    if (b.Weight is < 1 or > ushort.MaxValue)
                        Add(bp + ".weight", $"must be between 1 and 65535 (was {b.Weight})");
                    if (!b.Ip.IsNone && !backends.TryAdd((b.Ip, b.Port), j))
                        Add(bp, $"duplicate backend {b.Ip}:{b.Port} (also backends[{backends[(b.Ip, b.Port)]}])");
                }
            }
        }

        private bool ReachableFrom(NetworkConfig network, NetAddress ip)
        {
            if (network.Contains(ip))
                return true;
            foreach (var pe in s.Peerings)
            {
                string? other = string.Equals(pe.First, network.Name, StringComparison.Ordinal) ? pe.Second
                    : string.Equals(pe.Second, network.Name, StringComparison.Ordinal) ? pe.First : null;
                if (other is not null && _networks.TryGetValue(other, out int k) && s.Networks[k].Contains(ip))
                    return true;
            }
            return false;
        }

        private void Snat()
        {
            var networks = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int i = 0; i < s.Snat.Length; i++)
            {
                var n = s.Snat[i];
                string p = $"snat[{i}]";
                if (NetworkRef(p + ".network", n.Network) is not null && !networks.TryAdd(n.Network, i))
                    Add(p + ".network", $"network '{n.Network}' already has SNAT (snat[{networks[n.Network]}]); one entry per network");
                if (n.PublicIp.IsNone)
                    Add(p + ".publicIp", "must be set");
                else
                {
                    foreach (var net in s.Networks)
                    {
                        if (net.Contains(n.PublicIp))
                        {
                            Add(p + ".publicIp", $"{n.PublicIp} is inside network '{net.Name}' ({Describe(net)}); a public address must be outside every network");
                            break;
                        }
                    }
                }
                if (n.Ports.Lo < 1 || n.Ports.Hi < n.Ports.Lo)
                    Add(p + ".ports", $"must be a range within 1-65535 (was {n.Ports.Lo}-{n.Ports.Hi})");
            }
        }

        private void Qos()
        {
            var ports = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int i = 0; i < s.Qos.Length; i++)
            {
                var q = s.Qos[i];
                string p = $"qos[{i}]";
                if (PortRef(p + ".port", q.Port) && !ports.TryAdd(q.Port, i))
                    Add(p + ".port", $"port '{q.Port}' already has QoS (qos[{ports[q.Port]}]); one entry per port");
                if (!(q.RateMbps > 0) || q.RateMbps > MaxRateMbps)
                    Add(p + ".rateMbps", string.Create(CultureInfo.InvariantCulture, $"must be more than 0 and at most {MaxRateMbps} (was {q.RateMbps})"));
                if (q.BurstKb < MinBurstKb)
                    Add(p + ".burstKb", $"must hold at least one 1500-byte frame: {MinBurstKb} or more (was {q.BurstKb})");
            }
        }

        private void Conntrack()
        {
            var c = s.Conntrack;
            // ConntrackOptions.Validate stops at the first bad value; checking one value at a time against
            // otherwise-default options reports each bad value at its own path.
            Check("conntrack.maxEntries", () => new ConntrackOptions { MaxEntries = c.MaxEntries }.Validate());
            var t = c.Timeouts;
            foreach (var (key, value, set) in new (string, int, Action<ConntrackTimeouts, int>)[]
            {
                ("tcpEstablished", t.TcpEstablished, (x, v) => x.TcpEstablished = v),
                ("tcpSynSent", t.TcpSynSent, (x, v) => x.TcpSynSent = v),
                ("tcpSynSent2", t.TcpSynSent2, (x, v) => x.TcpSynSent2 = v),
                ("tcpSynRecv", t.TcpSynRecv, (x, v) => x.TcpSynRecv = v),
                ("tcpFinWait", t.TcpFinWait, (x, v) => x.TcpFinWait = v),
                ("tcpCloseWait", t.TcpCloseWait, (x, v) => x.TcpCloseWait = v),
                ("tcpLastAck", t.TcpLastAck, (x, v) => x.TcpLastAck = v),
                ("tcpTimeWait", t.TcpTimeWait, (x, v) => x.TcpTimeWait = v),
                ("tcpClose", t.TcpClose, (x, v) => x.TcpClose = v),
                ("tcpUnacknowledged", t.TcpUnacknowledged, (x, v) => x.TcpUnacknowledged = v),
                ("tcpMaxRetrans", t.TcpMaxRetrans, (x, v) => x.TcpMaxRetrans = v),
                ("udp", t.Udp, (x, v) => x.Udp = v),
                ("udpStream", t.UdpStream, (x, v) => x.UdpStream = v),
                ("icmp", t.Icmp, (x, v) => x.Icmp = v),
                ("generic", t.Generic, (x, v) => x.Generic = v),
            })
            {
                var timeouts = new ConntrackTimeouts();
                set(timeouts, value);
                Check("conntrack.timeouts." + key, () => timeouts.Validate());
            }
        }

        private void Check(string path, Action validate)
        {
            try
            {
                validate();
            }
            catch (ArgumentException ex)
            {
                // "ConntrackOptions.Timeouts.Udp must be between … (was 0). (Parameter 'Udp')" → "must be between … (was 0)".
                string m = ex.Message;
                int param = m.IndexOf(" (Parameter '", StringComparison.Ordinal);
                if (param >= 0)
                    m = m[..param];
                int must = m.IndexOf(" must ", StringComparison.Ordinal);
                if (must >= 0)
                    m = m[(must + 1)..];
                Add(path, m.TrimEnd('.'));
            }
        }

        private void Offload()
        {
            if (!Enum.IsDefined(s.Offload.When))
                Add("offload.when", $"must be first-packet or established (was {s.Offload.When})");
            if (s.Offload.MinPackets < 0)
                Add("offload.minPackets", $"must be 0 or more (was {s.Offload.MinPackets})");
        }

        private NetworkConfig? NetworkRef(string path, string name)
        {
            if (_networks.TryGetValue(name, out int i))
                return s.Networks[i];
            if (!_networkNamesUncertain)
                Add(path, $"unknown network '{name}'{Hint(name, s.Networks.Select(n => n.Name))}");
            return null;
        }

        private bool PortRef(string path, string name)
        {
            if (_ports.ContainsKey(name))
                return true;
            if (!_portNamesUncertain)
                Add(path, $"unknown port '{name}'{Hint(name, s.Ports.Select(p => p.Name))}");
            return false;
        }

        private void PortsNeedTcpOrUdp(string path, PortSet? ports, byte? protocol)
        {
            // An unreadable protocol was replaced by "any"; complaining about it again here would mislead.
            string protocolPath = PolicyYamlReader.Parent(path) + ".protocol";
            if (ports is not null && protocol is not (IpProtocol.Tcp or IpProtocol.Udp) && !unreadable.Contains(protocolPath))
                Add(path, $"ports need protocol tcp or udp (protocol is {(protocol is { } pr ? IpProtocol.Name(pr) : "any")})");
        }

        private void MacUnique(string path, MacAddress mac)
        {
            if (mac.Value != 0 && !_macs.TryAdd(mac, path))
                Add(path, $"duplicate MAC {mac} (also {_macs[mac]})");
        }

        private void Mac(string path, MacAddress mac)
        {
            if (mac.Value == 0)
                Add(path, "must be set (00:00:00:00:00:00 is not an address)");
            else if (mac.IsMulticast)
                Add(path, $"{mac} is a multicast/broadcast MAC; a NIC's MAC must be unicast (first octet even)");
        }

        private bool Name(string path, string name)
        {
            if (name.Length == 0)
            {
                Add(path, "must not be empty");
                return false;
            }
            if (name.Length > 63 || !char.IsAsciiLetterOrDigit(name[0]) || name.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')))
            {
                Add(path, $"'{name}' is not a valid name: 1 to 63 letters, digits, '-', '_' or '.', starting with a letter or digit");
                return false;
            }
            return true;
        }

        private bool InterfaceName(string path, string name)
        {
            if (name.Length is 0 or > MaxInterfaceNameLength || name.Any(c => c is '/' or ':' || char.IsWhiteSpace(c)) || name is "." or "..")
            {
                Add(path, $"'{name}' is not a Linux interface name: 1 to {MaxInterfaceNameLength} characters, no '/', ':' or spaces");
                return false;
            }
            return true;
        }

        private static string Describe(NetworkConfig n) => n.Cidr6.IsNone ? n.Cidr.ToString() : $"{n.Cidr}, {n.Cidr6}";

        private static string Hint(string name, IEnumerable<string> known)
        {
            var list = known.Where(k => k.Length > 0).Distinct(StringComparer.Ordinal).ToList();
            if (PolicyYamlReader.Closest(name, list) is { } close)
                return $" (did you mean '{close}'?)";
            return list.Count == 0 ? " (none are defined)" : $" (known: {string.Join(", ", list)})";
        }
    }
}
