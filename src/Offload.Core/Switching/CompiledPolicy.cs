using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Collections.Immutable;
using Offload.Actions;
using Offload.Classification;
using Offload.LoadBalancing;
using Offload.Packets;
using Offload.Policy;

namespace Offload.Switching;

/// <summary>
/// A policy snapshot turned into the lookups the slow path needs per first packet: ports by number and
/// by address, networks by VNI with their reachability, the ACL classifier, security groups, load
/// balancers with their backend selectors, SNAT, QoS meters and tunnel templates. Immutable once built;
/// action programs are shared through a cache so that flows of the same route hold one program.
/// </summary>
public sealed class CompiledPolicy
{
    private readonly FrozenDictionary<NetAddress, CompiledPort> _portsByIp;
    private readonly FrozenDictionary<uint, CompiledNetwork> _networksByVni;
    private readonly FrozenDictionary<(uint Vni, NetAddress Vip, ushort Port, byte Protocol), CompiledLoadBalancer> _vips;
    private readonly FrozenDictionary<NetAddress, CompiledHost> _hostsByUnderlay;
    private readonly FrozenSet<NetAddress> _vipAddresses;
    private readonly CompiledPort?[] _localPorts = new CompiledPort?[ushort.MaxValue + 1];
    private readonly bool[,] _reach;
    private readonly ConcurrentDictionary<ProgramSpec, ActionProgram> _programs = new();
    private readonly ConcurrentDictionary<(CompiledHost Host, CompiledNetwork Network), EncapTemplate> _tunnels = new();

    /// <summary>Compiles <paramref name="snapshot"/>, numbering its local ports in <paramref name="ports"/>.</summary>
    public CompiledPolicy(PolicySnapshot snapshot, PortRegistry ports)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(ports);
        Snapshot = snapshot;
        Registry = ports;
        GatewayMac = snapshot.Host.GatewayMac ?? snapshot.Host.Underlay.Mac;
        HostUnderlay = snapshot.Host.Underlay;

        var networks = new List<CompiledNetwork>();
        foreach (var n in snapshot.Networks)
            networks.Add(new CompiledNetwork(n, networks.Count));
        Networks = networks;
        var byName = networks.ToDictionary(n => n.Config.Name, StringComparer.Ordinal);
        _networksByVni = networks.ToFrozenDictionary(n => n.Vni);
        _reach = new bool[networks.Count, networks.Count];
        foreach (var n in networks)
            _reach[n.Index, n.Index] = true;
        foreach (var p in snapshot.Peerings)
        {
            if (byName.TryGetValue(p.First, out var a) && byName.TryGetValue(p.Second, out var b))
                _reach[a.Index, b.Index] = _reach[b.Index, a.Index] = true;
        }

        var hosts = new Dictionary<string, CompiledHost>(StringComparer.Ordinal)
        {
            [snapshot.Host.Name] = new CompiledHost(snapshot.Host.Name, snapshot.Host.Underlay, IsLocal: true),
        };
        foreach (var h in snapshot.Hosts)
            hosts[h.Name] = new CompiledHost(h.Name, h.Underlay, IsLocal: false);
        _hostsByUnderlay = hosts.Values.ToFrozenDictionary(h => h.Underlay.Ip);

        var qos = snapshot.Qos.ToDictionary(q => q.Port, StringComparer.Ordinal);
        var groups = new Dictionary<string, SecurityGroupConfig>(StringComparer.Ordinal);
        foreach (var sg in snapshot.SecurityGroups)
            foreach (var port in sg.Ports)
                groups[port] = sg;

        var portsByIp = new Dictionary<NetAddress, CompiledPort>();
        var list = new List<CompiledPort>();
        foreach (var p in snapshot.Ports)
        {
            bool local = snapshot.IsLocal(p);
            ushort number = local ? ports.GetOrAdd(p.Name) : (ushort)0;
            qos.TryGetValue(p.Name, out var q);
            groups.TryGetValue(p.Name, out var group);
            var compiled = new CompiledPort(p, byName[p.Network], hosts[p.Host], number, q, group);
            list.Add(compiled);
            portsByIp[p.Ip] = compiled;
            if (p.Ipv6 is { } v6)
                portsByIp[v6] = compiled;
            if (local)
                _localPorts[number] = compiled;
        }
        Ports = list;
        _portsByIp = portsByIp.ToFrozenDictionary();

        var vips = new Dictionary<(uint, NetAddress, ushort, byte), CompiledLoadBalancer>();
        foreach (var lb in snapshot.LoadBalancers)
        {
            var network = byName[lb.Network];
            var compiled = new CompiledLoadBalancer(lb, network);
            vips[(network.Vni, lb.Vip, lb.Port, lb.Protocol)] = compiled;
        }
        _vips = vips.ToFrozenDictionary();
        _vipAddresses = snapshot.LoadBalancers.Select(l => l.Vip).ToFrozenSet();

        Snat = snapshot.Snat.ToFrozenDictionary(s => s.Network, StringComparer.Ordinal);
        SnatPublicIps = snapshot.Snat.Select(s => s.PublicIp).ToFrozenSet();
        Acl = AclClassifier.Build(CompileAcl(snapshot, byName), snapshot.Acl.Mode);
    }

    /// <summary>The source snapshot.</summary>
    public PolicySnapshot Snapshot { get; }

    /// <summary>The port numbering.</summary>
    public PortRegistry Registry { get; }

    /// <summary>MAC the switch answers with as every VM's gateway, and the uplink's next hop.</summary>
    public MacAddress GatewayMac { get; }

    /// <summary>This host's underlay address.</summary>
    public UnderlayConfig HostUnderlay { get; }

    /// <summary>Networks in policy order.</summary>
    public IReadOnlyList<CompiledNetwork> Networks { get; }

    /// <summary>Every port (local and remote).</summary>
    public IReadOnlyList<CompiledPort> Ports { get; }

    /// <summary>The ACL classifier.</summary>
    public AclClassifier Acl { get; }

    /// <summary>SNAT configuration by network name.</summary>
    public FrozenDictionary<string, SnatConfig> Snat { get; }

    /// <summary>Every SNAT public address (frames to them from the uplink are replies from the public network).</summary>
    public FrozenSet<NetAddress> SnatPublicIps { get; }

    /// <summary>The local port with this number, or null.</summary>
    public CompiledPort? LocalPort(ushort number) => _localPorts[number];

    /// <summary>The port (on any host) that owns <paramref name="ip"/>, or null.</summary>
    public CompiledPort? PortByIp(NetAddress ip) => _portsByIp.GetValueOrDefault(ip);

    /// <summary>The network with <paramref name="vni"/>, or null.</summary>
    public CompiledNetwork? NetworkByVni(uint vni) => _networksByVni.GetValueOrDefault(vni);

    /// <summary>The network whose prefix holds <paramref name="ip"/>, or null.</summary>
    public CompiledNetwork? NetworkContaining(NetAddress ip)
    {
        foreach (var n in Networks)
        {
            if (n.Config.Contains(ip))
                return n;
        }
        return null;
    }

    /// <summary>The host (this one or another) whose underlay address is <paramref name="ip"/>, or null.</summary>
    public CompiledHost? HostByUnderlay(NetAddress ip) => _hostsByUnderlay.GetValueOrDefault(ip);

    /// <summary>True when traffic from network <paramref name="from"/> may reach network <paramref name="to"/> (same or peered).</summary>
    public bool CanReach(CompiledNetwork from, CompiledNetwork to) => _reach[from.Index, to.Index];

    /// <summary>True when <paramref name="ip"/> is some load balancer's virtual address.</summary>
    public bool IsVip(NetAddress ip) => _vipAddresses.Contains(ip);

    /// <summary>The load balancer serving <paramref name="vip"/>:<paramref name="port"/>/<paramref name="protocol"/> to clients in <paramref name="from"/>.</summary>
    public CompiledLoadBalancer? FindLoadBalancer(CompiledNetwork from, NetAddress vip, ushort port, byte protocol)
    {
        if (!_vipAddresses.Contains(vip))
            return null;
        foreach (var n in Networks)
        {
            if (CanReach(from, n) && _vips.TryGetValue((n.Vni, vip, port, protocol), out var lb))
                return lb;
        }
        return null;
    }

    /// <summary>The tunnel template from this host to <paramref name="host"/> for traffic of <paramref name="network"/>.</summary>
    public EncapTemplate TunnelTo(CompiledHost host, CompiledNetwork network) =>
        _tunnels.GetOrAdd((host, network), static (k, self) =>
            new EncapTemplate(k.Network.Config.Tunnel, k.Network.Vni, self.HostUnderlay.Mac, k.Host.Underlay.Mac, self.HostUnderlay.Ip, k.Host.Underlay.Ip), this);

    /// <summary>True when the security group of <paramref name="port"/> lets a new inbound connection in (claim S1).</summary>
    public static bool SecurityGroupAllows(CompiledPort port, NetAddress source, byte protocol, ushort dstPort)
    {
        var group = port.SecurityGroup;
        if (group is null || group.Inbound == RuleAction.Allow)
            return true;
        foreach (var rule in group.AllowInbound)
        {
            if (rule.Protocol is { } p && p != protocol)
                continue;
            if (rule.DstPorts is { } ports && !ports.Contains(dstPort))
                continue;
            if (!rule.Src.IsNone && !rule.Src.Contains(source))
                continue;
            return true;
        }
        return false;
    }

    /// <summary>The shared action program for a route.</summary>
    internal ActionProgram Program(in ProgramSpec spec) => _programs.GetOrAdd(spec, static s => s.Build());

    private static List<AclRule> CompileAcl(PolicySnapshot snapshot, Dictionary<string, CompiledNetwork> networks)
    {
        var rules = new List<AclRule>(snapshot.Acl.Rules.Length);
        for (int i = 0; i < snapshot.Acl.Rules.Length; i++)
        {
            var r = snapshot.Acl.Rules[i];
            rules.Add(new AclRule
            {
                Id = i,
                Priority = r.Priority,
                Action = r.Action == RuleAction.Deny ? AclAction.Deny : AclAction.Allow,
                Direction = r.Direction switch
                {
                    TrafficDirection.Ingress => AclDirection.Ingress,
                    TrafficDirection.Egress => AclDirection.Egress,
                    _ => AclDirection.Both,
                },
                Vni = r.Network is null ? null : (uint)networks[r.Network].Vni,
                Source = ToAcl(r.Src),
                Destination = ToAcl(r.Dst),
                Protocol = r.Protocol,
                SourcePorts = r.SrcPorts?.Ranges ?? ImmutableArray<PortRange>.Empty,
                DestinationPorts = r.DstPorts?.Ranges ?? ImmutableArray<PortRange>.Empty,
            });
        }
        return rules;
    }

    private static AclPrefix ToAcl(Prefix p) =>
        p.IsNone ? AclPrefix.Any : new AclPrefix(p.Address, p.IsV4 ? p.Length + 96 : p.Length);
}

/// <summary>A network of the compiled policy.</summary>
/// <param name="Config">Its configuration.</param>
/// <param name="Index">Its index (reachability matrix).</param>
public sealed record CompiledNetwork(NetworkConfig Config, int Index)
{
    /// <summary>Its VNI.</summary>
    public uint Vni => (uint)Config.Vni;
}

/// <summary>A host of the compiled policy.</summary>
/// <param name="Name">Host name.</param>
/// <param name="Underlay">Its underlay address.</param>
/// <param name="IsLocal">True for this host.</param>
public sealed record CompiledHost(string Name, UnderlayConfig Underlay, bool IsLocal);

/// <summary>A VM port of the compiled policy.</summary>
/// <param name="Config">Its configuration.</param>
/// <param name="Network">Its network.</param>
/// <param name="Host">The host it lives on.</param>
/// <param name="Number">Its switch port number (0 for a port on another host).</param>
/// <param name="Qos">Its QoS, if any.</param>
/// <param name="SecurityGroup">Its security group, if any.</param>
public sealed record CompiledPort(PortConfig Config, CompiledNetwork Network, CompiledHost Host, ushort Number, QosConfig? Qos, SecurityGroupConfig? SecurityGroup)
{
    /// <summary>True when the port is on this host.</summary>
    public bool IsLocal => Host.IsLocal;

    /// <summary>Its MAC.</summary>
    public MacAddress Mac => Config.Mac;

    /// <summary>The meter id of its QoS (its port number), or 0 for none.</summary>
    public int MeterId => Qos is null || !IsLocal ? 0 : Number;

    /// <summary>True when <paramref name="ip"/> is one of the port's addresses.</summary>
    public bool Owns(NetAddress ip) => Config.Ip == ip || Config.Ipv6 == ip;
}

/// <summary>A load balancer of the compiled policy, with its backend selector.</summary>
public sealed class CompiledLoadBalancer
{
    internal CompiledLoadBalancer(LoadBalancerConfig config, CompiledNetwork network)
    {
        Config = config;
        Network = network;
        var names = config.Backends.Select(b => $"{b.Ip}:{b.Port}").ToList();
        string algorithm = config.Algorithm switch
        {
            LoadBalancingAlgorithm.Random => "random",
            LoadBalancingAlgorithm.LeastConnections => "least-connections",
            _ => "maglev",
        };
        Selector = BackendSelectors.Create(algorithm, names, new BackendSelectorOptions { Weights = config.Backends.Select(b => b.Weight).ToList() });
    }

    /// <summary>Its configuration.</summary>
    public LoadBalancerConfig Config { get; }

    /// <summary>The network it serves.</summary>
    public CompiledNetwork Network { get; }

    /// <summary>Picks a backend.</summary>
    public IBackendSelector Selector { get; }

    /// <summary>The index of the backend at <paramref name="ip"/>:<paramref name="port"/>, or −1.</summary>
    public int IndexOf(NetAddress ip, ushort port)
    {
        for (int i = 0; i < Config.Backends.Length; i++)
        {
            if (Config.Backends[i].Ip == ip && Config.Backends[i].Port == port)
                return i;
        }
        return -1;
    }
}

/// <summary>The shape of an action program, the key of the program cache.</summary>
internal readonly record struct ProgramSpec(bool Decap, MacAddress SrcMac, MacAddress DstMac, bool Nat, int MeterId, EncapTemplate? Encap, ushort OutPort)
{
    public ActionProgram Build()
    {
        var b = ActionProgram.CreateBuilder();
        if (Decap)
            b.Decapsulate();
        b.SetSourceMac(SrcMac).SetDestinationMac(DstMac);
        if (Nat)
            b.ApplyNat();
        if (MeterId != 0)
            b.Meter(MeterId);
        if (Encap is not null)
            b.Encapsulate(Encap);
        return b.Output(OutPort).Build();
    }
}
