using System.Buffers;
using System.Text;
using System.Text.Json;
using Offload.Classification;
using Offload.Packets;
using Offload.Policy;

namespace Offload.Kernel.Nftables;

/// <summary>
/// Turns a <see cref="PolicySnapshot"/> into one nftables ruleset (libnftables JSON, <c>{"nftables":[…]}</c>) for the
/// kernel slow path: ACL, network isolation, stateful security groups, DNAT for load-balancer VIPs and SNAT to the
/// public network. The same input always gives byte-identical output.
/// </summary>
/// <remarks>
/// <para>The document first adds, deletes and re-adds the <c>inet</c> table, so applying it with
/// <see cref="NftablesContext.Run"/> replaces the previous ruleset in one netlink batch: the kernel switches from the
/// old rules to the new ones atomically, and applying the same document twice leaves the same ruleset.</para>
/// <para>Layout. <c>forward</c> (filter) accepts <c>ct state established,related</c> first — replies, and later packets
/// of admitted connections, never meet the policy again — then dispatches new connections by input device through the
/// verdict map <c>iif_dispatch</c>: a VM port jumps to <c>egress_&lt;network&gt;</c> (anti-spoofing, the egress ACL on
/// the original tuple, i.e. before DNAT, isolation: same network or peered only, no network address out of the uplink,
/// no public traffic from a network without SNAT), a tunnel device to
/// <c>rx_&lt;network&gt;</c>; then the output device dispatches through <c>oif_dispatch</c> to
/// <c>ingress_&lt;network of the destination port&gt;</c> (ingress ACL on the translated tuple, then the port's security
/// group through <c>sg_dispatch</c>). Unsolicited traffic from the uplink is dropped. <c>dstnat</c> (nat prerouting)
/// DNATs VIPs; <c>srcnat</c> (nat postrouting) SNATs what leaves through the uplink.</para>
/// <para>Load balancing. <see cref="LoadBalancingAlgorithm.Random"/> is native (<c>numgen random</c>, weighted by
/// ranges of the generated number). Maglev and least-connections cannot be expressed by nftables, so each such VIP has
/// two maps keyed by the client's <c>ip saddr . sport</c>, <see cref="BackendAddressMapName"/> and
/// <see cref="BackendPortMapName"/> (one map with concatenated data would be simpler, but libnftables 1.0.6 crashes
/// parsing a DNAT from it in JSON): the adapter chooses the backend and adds both elements in one batch
/// (<see cref="PinBackendCommand"/>) before it injects the connection's first packet; a connection without elements
/// falls back to <c>numgen random</c>. Conntrack keeps the NAT binding for the rest of
/// the connection, so an element only matters for the first packet and may expire soon after.</para>
/// <para>Provenance. Every rule has a counter and a comment naming what it came from (<c>acl:3</c>,
/// <c>sg:web:inbound</c>, <c>lb:web</c>, <c>snat:blue</c>, <c>isolation:blue</c> …); a rule that drops first logs to
/// NFLOG group <see cref="KernelTopology.LogGroup"/> with the prefix <c>&lt;reason&gt;:&lt;id&gt;</c>, the reason being
/// a <see cref="DropReason"/> kebab name (<c>acl:3</c>, <c>security-group:web:inbound</c>, <c>no-route:blue</c>,
/// <c>spoofed-source:blue</c>, <c>unsolicited:uplink</c>, <c>conntrack-invalid:ct</c>); <see cref="Nflog.NflogListener"/>
/// receives those records and <see cref="Nflog.NflogPrefix"/> reads the prefix back.</para>
/// <para>Not here: QoS (per-port token buckets) is enforced by the fast path, not by the kernel ruleset; the ARP/ND
/// responder and the routes themselves belong to the device setup. Security groups and ingress ACLs of ports on other
/// hosts are those hosts' business: traffic to a remote VM is accepted once the egress checks pass. The table owns
/// nothing but itself: a VIP's pinned choices are lost when the ruleset is replaced (live connections keep their NAT).</para>
/// </remarks>
public static class NftablesRulesetGenerator
{
    /// <summary>The table family.</summary>
    public const string Family = "inet";

    /// <summary>Comment of the rule accepting established and related traffic.</summary>
    public const string EstablishedComment = "ct:established";

    /// <summary>The ruleset for <paramref name="policy"/> in <paramref name="topology"/>.</summary>
    /// <exception cref="ArgumentException">A local port has no interface in <paramref name="topology"/>, or a name
    /// there is not usable in the kernel.</exception>
    public static string Generate(PolicySnapshot policy, KernelTopology topology)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(topology);
        topology.Validate();
        return new RulesetWriter(policy, topology).Write();
    }

    /// <summary>Name of the per-connection backend-address map of a Maglev or least-connections load balancer.</summary>
    public static string BackendAddressMapName(string loadBalancer)
    {
        ArgumentNullException.ThrowIfNull(loadBalancer);
        return $"lb_{loadBalancer}_addr";
    }

    /// <summary>Name of the per-connection backend-port map of a Maglev or least-connections load balancer.</summary>
    public static string BackendPortMapName(string loadBalancer)
    {
        ArgumentNullException.ThrowIfNull(loadBalancer);
        return $"lb_{loadBalancer}_port";
    }

    /// <summary>
    /// A JSON document that pins the connection from <paramref name="client"/>:<paramref name="clientPort"/> to
    /// <paramref name="backend"/> of <paramref name="loadBalancer"/> (a Maglev or least-connections one); the elements
    /// expire after <paramref name="timeout"/> (whole seconds, at least 1). Apply it with <see cref="NftablesContext.Run"/>
    /// on a JSON context.
    /// </summary>
    public static string PinBackendCommand(KernelTopology topology, LoadBalancerConfig loadBalancer, NetAddress client, ushort clientPort,
        BackendConfig backend, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(topology);
        ArgumentNullException.ThrowIfNull(loadBalancer);
        ArgumentNullException.ThrowIfNull(backend);
        if (loadBalancer.Algorithm == LoadBalancingAlgorithm.Random)
            throw new ArgumentException($"load balancer '{loadBalancer.Name}' is random: it has no connection maps", nameof(loadBalancer));
        if (client.IsV4 != loadBalancer.Vip.IsV4 || backend.Ip.IsV4 != loadBalancer.Vip.IsV4)
            throw new ArgumentException("client, backend and VIP must be of the same IP family");
        long seconds = Math.Max(1, (long)Math.Ceiling(timeout.TotalSeconds));
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartArray("nftables");
            Element(w, topology.TableName, BackendAddressMapName(loadBalancer.Name), client, clientPort, seconds, x => NftJson.Address(x, backend.Ip));
            Element(w, topology.TableName, BackendPortMapName(loadBalancer.Name), client, clientPort, seconds, x => x.WriteNumberValue(backend.Port));
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>
    /// A JSON document that removes the pin of the connection from <paramref name="client"/>:<paramref name="clientPort"/>
    /// made by <see cref="PinBackendCommand"/> (the kernel refuses it with ENOENT once the pin has expired).
    /// </summary>
    public static string UnpinBackendCommand(KernelTopology topology, LoadBalancerConfig loadBalancer, NetAddress client, ushort clientPort)
    {
        ArgumentNullException.ThrowIfNull(topology);
        ArgumentNullException.ThrowIfNull(loadBalancer);
        if (loadBalancer.Algorithm == LoadBalancingAlgorithm.Random)
            throw new ArgumentException($"load balancer '{loadBalancer.Name}' is random: it has no connection maps", nameof(loadBalancer));
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartArray("nftables");
            foreach (string map in (ReadOnlySpan<string>)[BackendAddressMapName(loadBalancer.Name), BackendPortMapName(loadBalancer.Name)])
            {
                w.WriteStartObject();
                w.WriteStartObject("delete");
                w.WriteStartObject("element");
                w.WriteString("family", Family);
                w.WriteString("table", topology.TableName);
                w.WriteString("name", map);
                w.WriteStartArray("elem");
                NftJson.Concat(w, x => NftJson.Address(x, client), x => x.WriteNumberValue(clientPort));
                w.WriteEndArray();
                w.WriteEndObject();
                w.WriteEndObject();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void Element(Utf8JsonWriter w, string table, string map, NetAddress client, ushort clientPort, long seconds, Action<Utf8JsonWriter> data)
    {
        w.WriteStartObject();
        w.WriteStartObject("add");
        w.WriteStartObject("element");
        w.WriteString("family", Family);
        w.WriteString("table", table);
        w.WriteString("name", map);
        w.WriteStartArray("elem");
        w.WriteStartArray();
        w.WriteStartObject();
        w.WriteStartObject("elem");
        w.WritePropertyName("val");
        NftJson.Concat(w, x => NftJson.Address(x, client), x => x.WriteNumberValue(clientPort));
        w.WriteNumber("timeout", seconds);
        w.WriteEndObject();
        w.WriteEndObject();
        data(w);
        w.WriteEndArray();
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private sealed class RulesetWriter
    {
        private const string Forward = "forward", DstNat = "dstnat", SrcNat = "srcnat";
        private const string IifDispatch = "iif_dispatch", OifDispatch = "oif_dispatch", SgDispatch = "sg_dispatch";

        private readonly PolicySnapshot _policy;
        private readonly KernelTopology _topology;
        private readonly string _table;
        private readonly ArrayBufferWriter<byte> _buffer = new();
        private readonly Utf8JsonWriter _w;
        private readonly Dictionary<string, NetworkConfig> _networks = new(StringComparer.Ordinal);
        private readonly List<(PortConfig Port, string Device)> _localPorts = [];
        private readonly Dictionary<string, SecurityGroupConfig> _groupOfPort = new(StringComparer.Ordinal);
        private readonly List<SecurityGroupConfig> _groups = [];

        public RulesetWriter(PolicySnapshot policy, KernelTopology topology)
        {
            _policy = policy;
            _topology = topology;
            _table = topology.TableName;
            _w = new Utf8JsonWriter(_buffer);
            foreach (NetworkConfig n in policy.Networks)
                _networks[n.Name] = n;
            foreach (PortConfig port in policy.Ports)
            {
                if (!policy.IsLocal(port))
                    continue;
                if (!topology.PortInterfaces.TryGetValue(port.Name, out string? device))
                    throw new ArgumentException($"local port '{port.Name}' has no interface in the topology", nameof(topology));
                _localPorts.Add((port, device));
            }
            // As in the policy slow path: a port listed by several groups gets the last one.
            foreach (SecurityGroupConfig group in policy.SecurityGroups)
            {
                foreach (string port in group.Ports)
                    _groupOfPort[port] = group;
            }
            foreach (SecurityGroupConfig group in policy.SecurityGroups)
            {
                bool used = false;
                foreach ((PortConfig port, _) in _localPorts)
                    used |= _groupOfPort.TryGetValue(port.Name, out SecurityGroupConfig? g) && ReferenceEquals(g, group);
                if (used)
                    _groups.Add(group);
            }
        }

        public string Write()
        {
            _w.WriteStartObject();
            _w.WriteStartArray("nftables");
            // "add" first so that "delete" finds a table to delete on the very first apply.
            Table("add");
            Table("delete");
            Table("add");
            Chains();
            Sets();
            ForwardRules();
            foreach (NetworkConfig n in _policy.Networks)
                NetworkRules(n);
            foreach (SecurityGroupConfig g in _groups)
                SecurityGroupRules(g);
            DstNatRules();
            SrcNatRules();
            _w.WriteEndArray();
            _w.WriteEndObject();
            _w.Flush();
            return Encoding.UTF8.GetString(_buffer.WrittenSpan);
        }

        // ---------------- names ----------------

        private static string Egress(string network) => "egress_" + network;
        private static string Ingress(string network) => "ingress_" + network;
        private static string Rx(string network) => "rx_" + network;
        private static string AclChain(string network, bool egress) => (egress ? "acl_egress_" : "acl_ingress_") + network;
        private static string SgChain(string group) => "sg_" + group;
        private static string Reach(string network, bool v4) => (v4 ? "reach4_" : "reach6_") + network;
        private static string PortsOf(string network) => "ports_" + network;
        private static string Clients(string loadBalancer) => "clients_" + loadBalancer;

        private string? TunnelOf(string network) => _topology.TunnelInterfaces.TryGetValue(network, out string? d) ? d : null;

        // ---------------- table, chains, sets ----------------

        private void Table(string verb)
        {
            _w.WriteStartObject();
            _w.WriteStartObject(verb);
            _w.WriteStartObject("table");
            _w.WriteString("family", Family);
            _w.WriteString("name", _table);
            _w.WriteEndObject();
            _w.WriteEndObject();
            _w.WriteEndObject();
        }

        private void Chains()
        {
            BaseChain(Forward, "filter", "forward", 0);
            BaseChain(DstNat, "nat", "prerouting", -100);
            BaseChain(SrcNat, "nat", "postrouting", 100);
            foreach (NetworkConfig n in _policy.Networks)
            {
                Chain(Egress(n.Name));
                Chain(AclChain(n.Name, egress: true));
                Chain(Ingress(n.Name));
                Chain(AclChain(n.Name, egress: false));
                if (TunnelOf(n.Name) is not null)
                    Chain(Rx(n.Name));
            }
            foreach (SecurityGroupConfig g in _groups)
                Chain(SgChain(g.Name));
        }

        private void BaseChain(string name, string type, string hook, int priority)
        {
            BeginAdd("chain");
            _w.WriteString("name", name);
            _w.WriteString("type", type);
            _w.WriteString("hook", hook);
            _w.WriteNumber("prio", priority);
            _w.WriteString("policy", "accept");
            EndAdd();
        }

        private void Chain(string name)
        {
            BeginAdd("chain");
            _w.WriteString("name", name);
            EndAdd();
        }

        private void BeginAdd(string what)
        {
            _w.WriteStartObject();
            _w.WriteStartObject("add");
            _w.WriteStartObject(what);
            _w.WriteString("family", Family);
            _w.WriteString("table", _table);
        }

        private void EndAdd()
        {
            _w.WriteEndObject();
            _w.WriteEndObject();
            _w.WriteEndObject();
        }

        private void Set(string name, string[] type, bool interval, Action<Utf8JsonWriter>[] elements, string[]? mapType = null, bool timeout = false)
        {
            BeginAdd(mapType is null ? "set" : "map");
            _w.WriteString("name", name);
            WriteType("type", type);
            if (mapType is not null)
                WriteType("map", mapType);
            if (interval || timeout)
            {
                _w.WriteStartArray("flags");
                if (interval)
                    _w.WriteStringValue("interval");
                if (timeout)
                    _w.WriteStringValue("timeout");
                _w.WriteEndArray();
            }
            if (elements.Length > 0)
            {
                _w.WriteStartArray("elem");
                foreach (Action<Utf8JsonWriter> e in elements)
                    e(_w);
                _w.WriteEndArray();
            }
            EndAdd();
        }

        private void WriteType(string property, string[] type)
        {
            if (type.Length == 1)
            {
                _w.WriteString(property, type[0]);
                return;
            }
            _w.WriteStartArray(property);
            foreach (string t in type)
                _w.WriteStringValue(t);
            _w.WriteEndArray();
        }

        private void Sets()
        {
            var networks4 = new List<Action<Utf8JsonWriter>>();
            var networks6 = new List<Action<Utf8JsonWriter>>();
            foreach (NetworkConfig n in _policy.Networks)
                AddPrefixes(n, networks4, networks6);
            Set("networks4", ["ipv4_addr"], interval: true, [.. networks4]);
            Set("networks6", ["ipv6_addr"], interval: true, [.. networks6]);

            var addr4 = new List<Action<Utf8JsonWriter>>();
            var addr6 = new List<Action<Utf8JsonWriter>>();
            foreach ((PortConfig port, string device) in _localPorts)
            {
                foreach (NetAddress ip in (ReadOnlySpan<NetAddress>)[port.Ip, port.Ipv6 ?? NetAddress.None])
                {
                    if (ip.IsNone)
                        continue;
                    (ip.IsV4 ? addr4 : addr6).Add(w => NftJson.Concat(w, x => x.WriteStringValue(device), x => NftJson.Address(x, ip)));
                }
            }
            Set("port_addr4", ["ifname", "ipv4_addr"], interval: false, [.. addr4]);
            Set("port_addr6", ["ifname", "ipv6_addr"], interval: false, [.. addr6]);

            foreach (NetworkConfig n in _policy.Networks)
            {
                var reach4 = new List<Action<Utf8JsonWriter>>();
                var reach6 = new List<Action<Utf8JsonWriter>>();
                foreach (NetworkConfig m in _policy.Networks)
                {
                    if (CanReach(n.Name, m.Name))
                        AddPrefixes(m, reach4, reach6);
                }
                Set(Reach(n.Name, v4: true), ["ipv4_addr"], interval: true, [.. reach4]);
                Set(Reach(n.Name, v4: false), ["ipv6_addr"], interval: true, [.. reach6]);
                var devices = new List<Action<Utf8JsonWriter>>();
                foreach ((PortConfig port, string device) in _localPorts)
                {
                    if (port.Network == n.Name)
                        devices.Add(w => w.WriteStringValue(device));
                }
                Set(PortsOf(n.Name), ["ifname"], interval: false, [.. devices]);
            }

            var iif = new List<Action<Utf8JsonWriter>>();
            var oif = new List<Action<Utf8JsonWriter>>();
            var sg = new List<Action<Utf8JsonWriter>>();
            foreach ((PortConfig port, string device) in _localPorts)
            {
                iif.Add(MapElement(device, "jump", Egress(port.Network)));
                oif.Add(MapElement(device, "goto", Ingress(port.Network)));
                if (_groupOfPort.TryGetValue(port.Name, out SecurityGroupConfig? group))
                    sg.Add(MapElement(device, "goto", SgChain(group.Name)));
            }
            foreach (NetworkConfig n in _policy.Networks)
            {
                if (TunnelOf(n.Name) is { } tunnel)
                    iif.Add(MapElement(tunnel, "jump", Rx(n.Name)));
            }
            Set(IifDispatch, ["ifname"], interval: false, [.. iif], mapType: ["verdict"]);
            Set(OifDispatch, ["ifname"], interval: false, [.. oif], mapType: ["verdict"]);
            Set(SgDispatch, ["ifname"], interval: false, [.. sg], mapType: ["verdict"]);

            foreach (LoadBalancerConfig lb in _policy.LoadBalancers)
            {
                var clients = new List<Action<Utf8JsonWriter>>();
                foreach ((PortConfig port, string device) in _localPorts)
                {
                    if (CanReach(port.Network, lb.Network))
                        clients.Add(w => w.WriteStringValue(device));
                }
                foreach (NetworkConfig n in _policy.Networks)
                {
                    if (CanReach(n.Name, lb.Network) && TunnelOf(n.Name) is { } tunnel)
                        clients.Add(w => w.WriteStringValue(tunnel));
                }
                Set(Clients(lb.Name), ["ifname"], interval: false, [.. clients]);
                if (lb.Algorithm != LoadBalancingAlgorithm.Random)
                {
                    string addr = lb.Vip.IsV4 ? "ipv4_addr" : "ipv6_addr";
                    Set(BackendAddressMapName(lb.Name), [addr, "inet_service"], interval: false, [], mapType: [addr], timeout: true);
                    Set(BackendPortMapName(lb.Name), [addr, "inet_service"], interval: false, [], mapType: ["inet_service"], timeout: true);
                }
            }
        }

        private static Action<Utf8JsonWriter> MapElement(string device, string kind, string chain) => w =>
        {
            w.WriteStartArray();
            w.WriteStringValue(device);
            NftJson.Jump(w, kind, chain);
            w.WriteEndArray();
        };

        private static void AddPrefixes(NetworkConfig n, List<Action<Utf8JsonWriter>> v4, List<Action<Utf8JsonWriter>> v6)
        {
            foreach (Prefix p in (ReadOnlySpan<Prefix>)[n.Cidr, n.Cidr6])
            {
                if (!p.IsNone)
                    (p.IsV4 ? v4 : v6).Add(w => NftJson.Prefix(w, p));
            }
        }

        private bool CanReach(string from, string to)
        {
            if (string.Equals(from, to, StringComparison.Ordinal))
                return true;
            foreach (PeeringConfig p in _policy.Peerings)
            {
                if (p.Joins(from, to))
                    return true;
            }
            return false;
        }

        private bool HasSnat(string network)
        {
            foreach (SnatConfig s in _policy.Snat)
            {
                if (string.Equals(s.Network, network, StringComparison.Ordinal))
                    return true;
            }
            return false;
        }

        // ---------------- rules ----------------

        private void Rule(string chain, string? comment, Action<Utf8JsonWriter> body)
        {
            BeginAdd("rule");
            _w.WriteString("chain", chain);
            if (comment is not null)
                _w.WriteString("comment", comment);
            _w.WriteStartArray("expr");
            body(_w);
            _w.WriteEndArray();
            EndAdd();
        }

        /// <summary>A rule that logs "reason:id" and drops what <paramref name="match"/> matches.</summary>
        private void DropRule(string chain, string comment, DropReason reason, string id, Action<Utf8JsonWriter> match) =>
            Rule(chain, comment, w =>
            {
                match(w);
                NftJson.Log(w, reason.Name() + ":" + id, _topology.LogGroup);
                NftJson.Counter(w);
                NftJson.Verdict(w, "drop");
            });

        private void ForwardRules()
        {
            Rule(Forward, EstablishedComment, w =>
            {
                NftJson.Match(w, "in", CtState, x =>
                {
                    x.WriteStartArray();
                    x.WriteStringValue("established");
                    x.WriteStringValue("related");
                    x.WriteEndArray();
                });
                NftJson.Counter(w);
                NftJson.Verdict(w, "accept");
            });
            DropRule(Forward, "ct:invalid", DropReason.ConntrackInvalid, "ct", w => NftJson.Match(w, "in", CtState, "invalid"));
            Rule(Forward, "dispatch:in", w =>
            {
                NftJson.Counter(w);
                NftJson.VerdictMap(w, x => NftJson.Meta(x, "iifname"), IifDispatch);
            });
            if (_topology.UplinkInterface is { } uplink)
                DropRule(Forward, "uplink:unsolicited", DropReason.Unsolicited, "uplink", w => NftJson.Match(w, "==", x => NftJson.Meta(x, "iifname"), uplink));
        }

        private static void CtState(Utf8JsonWriter w)
        {
            w.WriteStartObject();
            w.WriteStartObject("ct");
            w.WriteString("key", "state");
            w.WriteEndObject();
            w.WriteEndObject();
        }

        private void NetworkRules(NetworkConfig n)
        {
            string egress = Egress(n.Name);
            foreach (bool v4 in (ReadOnlySpan<bool>)[true, false])
            {
                string ip = NftJson.IpProtocolName(v4);
                DropRule(egress, "spoof:" + n.Name, DropReason.SpoofedSource, n.Name, w => NftJson.Match(w, "!=",
                    x => NftJson.Concat(x, y => NftJson.Meta(y, "iifname"), y => NftJson.Payload(y, ip, "saddr")),
                    v4 ? "@port_addr4" : "@port_addr6"));
            }
            Rule(egress, null, w => NftJson.Jump(w, "jump", AclChain(n.Name, egress: true)));
            foreach (bool v4 in (ReadOnlySpan<bool>)[true, false])
            {
                string ip = NftJson.IpProtocolName(v4);
                DropRule(egress, "isolation:" + n.Name, DropReason.NoRoute, n.Name, w =>
                {
                    NftJson.Match(w, "==", x => NftJson.Payload(x, ip, "daddr"), v4 ? "@networks4" : "@networks6");
                    NftJson.Match(w, "!=", x => NftJson.Payload(x, ip, "daddr"), "@" + Reach(n.Name, v4));
                });
            }
            if (_topology.UplinkInterface is { } up)
            {
                // An address inside some network with no device here (an unused address, a VIP on another port)
                // must not leak to the public network, SNAT or not.
                foreach (bool v4 in (ReadOnlySpan<bool>)[true, false])
                {
                    string ip = NftJson.IpProtocolName(v4);
                    DropRule(egress, "unrouted:" + n.Name, DropReason.NoRoute, "unrouted:" + n.Name, w =>
                    {
                        NftJson.Match(w, "==", x => NftJson.Meta(x, "oifname"), up);
                        NftJson.Match(w, "==", x => NftJson.Payload(x, ip, "daddr"), v4 ? "@networks4" : "@networks6");
                    });
                }
            }
            if (_topology.UplinkInterface is { } uplink && !HasSnat(n.Name))
                DropRule(egress, "public:" + n.Name, DropReason.NoRoute, "public:" + n.Name, w => NftJson.Match(w, "==", x => NftJson.Meta(x, "oifname"), uplink));
            Rule(egress, null, w => NftJson.VerdictMap(w, x => NftJson.Meta(x, "oifname"), OifDispatch));
            Rule(egress, "egress:" + n.Name, w =>
            {
                NftJson.Counter(w);
                NftJson.Verdict(w, "accept");
            });

            string ingress = Ingress(n.Name);
            Rule(ingress, null, w => NftJson.Jump(w, "jump", AclChain(n.Name, egress: false)));
            Rule(ingress, null, w => NftJson.VerdictMap(w, x => NftJson.Meta(x, "oifname"), SgDispatch));
            Rule(ingress, "ingress:" + n.Name, w =>
            {
                NftJson.Counter(w);
                NftJson.Verdict(w, "accept");
            });

            if (TunnelOf(n.Name) is not null)
            {
                string rx = Rx(n.Name);
                foreach (bool v4 in (ReadOnlySpan<bool>)[true, false])
                {
                    string ip = NftJson.IpProtocolName(v4);
                    DropRule(rx, "rx:" + n.Name + ":source", DropReason.NoRoute, "rx:" + n.Name + ":source",
                        w => NftJson.Match(w, "!=", x => NftJson.Payload(x, ip, "saddr"), "@" + Reach(n.Name, v4)));
                }
                DropRule(rx, "rx:" + n.Name + ":destination", DropReason.NoRoute, "rx:" + n.Name + ":destination",
                    w => NftJson.Match(w, "!=", x => NftJson.Meta(x, "oifname"), "@" + PortsOf(n.Name)));
                Rule(rx, "rx:" + n.Name, w =>
                {
                    NftJson.Counter(w);
                    NftJson.Jump(w, "goto", ingress);
                });
            }

            AclRules(n, egress: true);
            AclRules(n, egress: false);
        }

        // The ACL of one network and direction, in decision order: the first matching rule decides, as "highest
        // priority wins, deny before allow at equal priority" does. Allow returns to the caller (the later checks
        // still apply); deny drops.
        private void AclRules(NetworkConfig n, bool egress)
        {
            var applicable = new List<int>();
            for (int i = 0; i < _policy.Acl.Rules.Length; i++)
            {
                AclRuleConfig r = _policy.Acl.Rules[i];
                bool direction = r.Direction == TrafficDirection.Both || r.Direction == (egress ? TrafficDirection.Egress : TrafficDirection.Ingress);
                bool network = r.Network is null || string.Equals(r.Network, n.Name, StringComparison.Ordinal);
                // A rule with an IPv4 source and an IPv6 destination matches nothing.
                bool family = r.Src.IsNone || r.Dst.IsNone || r.Src.IsV4 == r.Dst.IsV4;
                if (direction && network && family)
                    applicable.Add(i);
            }
            applicable.Sort((a, b) =>
            {
                AclRuleConfig x = _policy.Acl.Rules[a], y = _policy.Acl.Rules[b];
                if (x.Priority != y.Priority)
                    return y.Priority.CompareTo(x.Priority);
                if (x.Action != y.Action)
                    return x.Action == RuleAction.Deny ? -1 : 1;
                return a.CompareTo(b);
            });
            string chain = AclChain(n.Name, egress);
            foreach (int i in applicable)
            {
                AclRuleConfig r = _policy.Acl.Rules[i];
                string id = i.ToString(System.Globalization.CultureInfo.InvariantCulture);
                if (r.Action == RuleAction.Deny)
                {
                    DropRule(chain, "acl:" + id, DropReason.Acl, id, w => AclMatch(w, r, egress));
                    continue;
                }
                Rule(chain, "acl:" + id, w =>
                {
                    AclMatch(w, r, egress);
                    NftJson.Counter(w);
                    NftJson.Verdict(w, "return");
                });
            }
            if (_policy.Acl.Mode == AclMode.AllowList)
                DropRule(chain, "acl:default", DropReason.Acl, "default", _ => { });
        }

        // Egress rules see the connection as the VM sent it: destination address and port from the conntrack original
        // tuple, which a VIP's DNAT has not rewritten. Ingress rules see the translated packet.
        private static void AclMatch(Utf8JsonWriter w, AclRuleConfig r, bool egress)
        {
            if (!r.Src.IsNone)
            {
                string ip = NftJson.IpProtocolName(r.Src.IsV4);
                NftJson.Match(w, "==", x => NftJson.Payload(x, ip, "saddr"), x => NftJson.Prefix(x, r.Src));
            }
            if (!r.Dst.IsNone)
            {
                string ip = NftJson.IpProtocolName(r.Dst.IsV4);
                NftJson.Match(w, "==", x =>
                {
                    if (egress)
                        NftJson.CtOriginal(x, ip + " daddr");
                    else
                        NftJson.Payload(x, ip, "daddr");
                }, x => NftJson.Prefix(x, r.Dst));
            }
            Protocol(w, r.Protocol, r.SrcPorts is not null || r.DstPorts is not null);
            if (r.SrcPorts is { } sports)
                NftJson.Match(w, "==", x => NftJson.Payload(x, "th", "sport"), x => NftJson.Ports(x, sports));
            if (r.DstPorts is { } dports)
            {
                NftJson.Match(w, "==", x =>
                {
                    if (egress)
                        NftJson.CtOriginal(x, "proto-dst");
                    else
                        NftJson.Payload(x, "th", "dport");
                }, x => NftJson.Ports(x, dports));
            }
        }

        // Ports only exist for TCP and UDP; the validator makes a rule with ports name one of them, and a rule
        // without a protocol but with ports is held to TCP and UDP rather than failing in the kernel.
        private static void Protocol(Utf8JsonWriter w, byte? protocol, bool hasPorts)
        {
            if (protocol is { } p)
            {
                NftJson.Match(w, "==", x => NftJson.Meta(x, "l4proto"), x => NftJson.L4Protocol(x, p));
                return;
            }
            if (hasPorts)
                NftJson.Match(w, "==", x => NftJson.Meta(x, "l4proto"), TcpOrUdp);
        }

        private static void TcpOrUdp(Utf8JsonWriter w)
        {
            w.WriteStartObject();
            w.WriteStartArray("set");
            w.WriteStringValue("tcp");
            w.WriteStringValue("udp");
            w.WriteEndArray();
            w.WriteEndObject();
        }

        private void SecurityGroupRules(SecurityGroupConfig g)
        {
            string chain = SgChain(g.Name);
            for (int j = 0; j < g.AllowInbound.Length; j++)
            {
                SecurityGroupRuleConfig r = g.AllowInbound[j];
                Rule(chain, $"sg:{g.Name}:allow:{j.ToString(System.Globalization.CultureInfo.InvariantCulture)}", w =>
                {
                    if (!r.Src.IsNone)
                        NftJson.Match(w, "==", x => NftJson.Payload(x, NftJson.IpProtocolName(r.Src.IsV4), "saddr"), x => NftJson.Prefix(x, r.Src));
                    Protocol(w, r.Protocol, r.DstPorts is not null);
                    if (r.DstPorts is { } ports)
                        NftJson.Match(w, "==", x => NftJson.Payload(x, "th", "dport"), x => NftJson.Ports(x, ports));
                    NftJson.Counter(w);
                    NftJson.Verdict(w, "accept");
                });
            }
            string inbound = $"sg:{g.Name}:inbound";
            if (g.Inbound == RuleAction.Deny)
            {
                DropRule(chain, inbound, DropReason.SecurityGroup, g.Name + ":inbound", _ => { });
                return;
            }
            Rule(chain, inbound, w =>
            {
                NftJson.Counter(w);
                NftJson.Verdict(w, "accept");
            });
        }

        private void DstNatRules()
        {
            foreach (LoadBalancerConfig lb in _policy.LoadBalancers)
            {
                bool v4 = lb.Vip.IsV4;
                string ip = NftJson.IpProtocolName(v4);
                string l4 = lb.Protocol == IpProtocol.Udp ? "udp" : "tcp";
                var backends = new List<BackendConfig>();
                foreach (BackendConfig b in lb.Backends)
                {
                    if (b.Ip.IsV4 == v4 && b.Weight > 0)
                        backends.Add(b);
                }
                if (backends.Count == 0)
                    continue;
                void Service(Utf8JsonWriter w)
                {
                    NftJson.Match(w, "==", x => NftJson.Meta(x, "iifname"), "@" + Clients(lb.Name));
                    NftJson.Match(w, "==", x => NftJson.Payload(x, ip, "daddr"), x => NftJson.Address(x, lb.Vip));
                    NftJson.Match(w, "==", x => NftJson.Payload(x, l4, "dport"), x => x.WriteNumberValue(lb.Port));
                }
                if (lb.Algorithm != LoadBalancingAlgorithm.Random)
                {
                    Rule(DstNat, $"lb:{lb.Name}:pinned", w =>
                    {
                        Service(w);
                        NftJson.Counter(w);
                        void Key(Utf8JsonWriter x) => NftJson.Concat(x, y => NftJson.Payload(y, ip, "saddr"), y => NftJson.Payload(y, l4, "sport"));
                        w.WriteStartObject();
                        w.WriteStartObject("dnat");
                        w.WriteString("family", ip);
                        w.WritePropertyName("addr");
                        MapLookup(w, Key, x => x.WriteStringValue("@" + BackendAddressMapName(lb.Name)));
                        w.WritePropertyName("port");
                        MapLookup(w, Key, x => x.WriteStringValue("@" + BackendPortMapName(lb.Name)));
                        w.WriteEndObject();
                        w.WriteEndObject();
                    });
                }
                Rule(DstNat, "lb:" + lb.Name, w =>
                {
                    Service(w);
                    NftJson.Counter(w);
                    long total = 0;
                    foreach (BackendConfig b in backends)
                        total += b.Weight;
                    Dnat(w, v4, x =>
                    {
                        x.WriteStartObject();
                        x.WriteStartObject("numgen");
                        x.WriteString("mode", "random");
                        x.WriteNumber("mod", total);
                        x.WriteNumber("offset", 0);
                        x.WriteEndObject();
                        x.WriteEndObject();
                    }, x =>
                    {
                        x.WriteStartObject();
                        x.WriteStartArray("set");
                        long next = 0;
                        foreach (BackendConfig b in backends)
                        {
                            x.WriteStartArray();
                            NftJson.Range(x, (int)next, (int)(next + b.Weight - 1));
                            NftJson.Concat(x, y => NftJson.Address(y, b.Ip), y => y.WriteNumberValue(b.Port));
                            x.WriteEndArray();
                            next += b.Weight;
                        }
                        x.WriteEndArray();
                        x.WriteEndObject();
                    });
                });
            }
        }

        private static void Dnat(Utf8JsonWriter w, bool v4, Action<Utf8JsonWriter> key, Action<Utf8JsonWriter> data)
        {
            w.WriteStartObject();
            w.WriteStartObject("dnat");
            w.WriteString("family", NftJson.IpProtocolName(v4));
            w.WritePropertyName("addr");
            MapLookup(w, key, data);
            w.WriteEndObject();
            w.WriteEndObject();
        }

        private static void MapLookup(Utf8JsonWriter w, Action<Utf8JsonWriter> key, Action<Utf8JsonWriter> data)
        {
            w.WriteStartObject();
            w.WriteStartObject("map");
            w.WritePropertyName("key");
            key(w);
            w.WritePropertyName("data");
            data(w);
            w.WriteEndObject();
            w.WriteEndObject();
        }

        // Masquerade-like: traffic of the network leaving through the uplink gets the public address; TCP and UDP
        // also get a source port from the configured range (nf_nat picks one that does not collide). ICMP keeps its
        // identifier unless it collides, which nf_nat resolves itself.
        private void SrcNatRules()
        {
            if (_topology.UplinkInterface is not { } uplink)
                return;
            foreach (SnatConfig s in _policy.Snat)
            {
                if (!_networks.TryGetValue(s.Network, out NetworkConfig? n))
                    continue;
                bool v4 = s.PublicIp.IsV4;
                string ip = NftJson.IpProtocolName(v4);
                foreach (Prefix cidr in (ReadOnlySpan<Prefix>)[n.Cidr, n.Cidr6])
                {
                    if (cidr.IsNone || cidr.IsV4 != v4)
                        continue;
                    foreach (bool withPorts in (ReadOnlySpan<bool>)[true, false])
                    {
                        Rule(SrcNat, "snat:" + s.Network, w =>
                        {
                            NftJson.Match(w, "==", x => NftJson.Meta(x, "oifname"), uplink);
                            NftJson.Match(w, "==", x => NftJson.Payload(x, ip, "saddr"), x => NftJson.Prefix(x, cidr));
                            if (withPorts)
                                NftJson.Match(w, "==", x => NftJson.Meta(x, "l4proto"), TcpOrUdp);
                            NftJson.Counter(w);
                            w.WriteStartObject();
                            w.WriteStartObject("snat");
                            w.WriteString("family", ip);
                            w.WriteString("addr", s.PublicIp.ToString());
                            if (withPorts)
                            {
                                w.WritePropertyName("port");
                                NftJson.Range(w, s.Ports.Lo, s.Ports.Hi);
                            }
                            w.WriteEndObject();
                            w.WriteEndObject();
                        });
                    }
                }
            }
        }
    }
}
