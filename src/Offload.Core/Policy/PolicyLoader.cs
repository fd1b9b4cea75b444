using Offload.Classification;
using System.Collections.Immutable;
using Offload.Packets;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Offload.Policy;

/// <summary>
/// Reads a YAML policy into a <see cref="PolicySnapshot"/> and validates it whole. Bad input — YAML syntax,
/// unknown keys, wrong types, missing keys, values that do not fit together — never throws: every problem
/// found is returned as a <see cref="PolicyError"/> with its path, line and column.
/// </summary>
public static class PolicyLoader
{
    /// <summary>Loads and validates a policy from YAML text.</summary>
    public static PolicyLoadResult Load(string yaml)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        var stream = new YamlStream();
        var parser = new Parser(new StringReader(yaml));
        try
        {
            stream.Load(parser);
        }
        catch (YamlException ex)
        {
            return Failed(new PolicyError("", $"YAML syntax error at line {ex.Start.Line}, column {ex.Start.Column}: {Cause(ex)}")
            {
                Line = (int)ex.Start.Line,
                Column = (int)ex.Start.Column,
            });
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or IndexOutOfRangeException or FormatException)
        {
            // YamlDotNet fails on some malformed input with a state exception instead of a YamlException; the last
            // event it parsed still tells the user where to look.
            var near = parser.Current?.End ?? Mark.Empty;
            return Failed(new PolicyError("", $"YAML syntax error near line {near.Line}, column {near.Column}: the document is malformed after this point")
            {
                Line = (int)near.Line,
                Column = (int)near.Column,
            });
        }
        if (stream.Documents.Count == 0 || PolicyYamlReader.IsNull(stream.Documents[0].RootNode))
            return Failed(new PolicyError("", "the policy is empty (expected a mapping with at least 'host')"));
        if (stream.Documents.Count > 1)
        {
            var second = stream.Documents[1].RootNode.Start;
            return Failed(new PolicyError("", $"expected one YAML document, found {stream.Documents.Count} (a second one starts at line {second.Line})")
            {
                Line = (int)second.Line,
                Column = (int)second.Column,
            });
        }

        var reader = new PolicyYamlReader();
        var snapshot = Build(reader, stream.Documents[0].RootNode);
        var errors = new List<PolicyError>(reader.Errors);
        foreach (var e in PolicyValidator.Collect(snapshot, reader.Unreadable))
        {
            // A value that could not be read was replaced by a placeholder; what validation says about the
            // placeholder would only repeat the first error.
            if (reader.Unreadable.Contains(e.Path))
                continue;
            var mark = reader.Locate(e.Path);
            errors.Add(e with { Line = (int)mark.Line, Column = (int)mark.Column });
        }
        if (errors.Count > 0)
            return new PolicyLoadResult(null, Sort(errors));
        return new PolicyLoadResult(snapshot, []);
    }

    /// <summary>Loads and validates a policy file; a file that cannot be read is reported as an error.</summary>
    public static PolicyLoadResult LoadFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return Failed(new PolicyError("", $"cannot read policy file '{path}': {ex.Message}"));
        }
        return Load(text);
    }

    internal static IReadOnlyList<PolicyError> Sort(IEnumerable<PolicyError> errors) =>
        errors.OrderBy(e => e.Line).ThenBy(e => e.Column).ThenBy(e => e.Path, PolicyPathOrder.Instance).ToArray();

    private static PolicyLoadResult Failed(PolicyError error) => new(null, [error]);

    // YamlException.Message repeats the marks as "(Line: 3, Col: 5, Idx: 20) - (Line: …): "; the position is
    // already in the error, so keep only the cause.
    private static string Cause(YamlException ex)
    {
        string m = ex.Message;
        int cut = m.StartsWith("(Line:", StringComparison.Ordinal) ? m.IndexOf("): ", StringComparison.Ordinal) : -1;
        return cut >= 0 ? m[(cut + 3)..] : m;
    }

    private static PolicySnapshot Build(PolicyYamlReader r, YamlNode rootNode)
    {
        var root = r.Mapping(rootNode, "", PolicyShapes.Root);
        var hostFields = root?.Object("host", "host");
        var host = new HostConfig
        {
            Name = hostFields?.String("name") ?? "",
            Underlay = Underlay(hostFields?.Object("underlay", "underlay")),
            GatewayMac = hostFields?.Mac("gatewayMac"),
            Uplink = hostFields?.String("uplink"),
        };
        if (root is null)
            return new PolicySnapshot { Host = host };

        return new PolicySnapshot
        {
            Host = host,
            Hosts = Items(r, root, "hosts", "remoteHost", f => new RemoteHostConfig(f.String("name") ?? "", Underlay(f.Object("underlay", "underlay")))),
            Networks = Items(r, root, "networks", "network", f => new NetworkConfig
            {
                Name = f.String("name") ?? "",
                Vni = (int)(f.Integer("vni") ?? 0),
                Cidr = f.Prefix("cidr", requireLength: true),
                Cidr6 = f.Prefix("cidr6", requireLength: true),
                Tunnel = f.Enum("tunnel", PolicyNames.Tunnels) ?? Actions.TunnelType.Vxlan,
            }),
            Peerings = Peerings(r, root),
            Ports = Items(r, root, "ports", "port", f => new PortConfig
            {
                Name = f.String("name") ?? "",
                Network = f.String("network") ?? "",
                Mac = f.Mac("mac") ?? default,
                Ip = f.Address("ip") ?? NetAddress.None,
                Ipv6 = f.Address("ipv6"),
                Host = f.String("host") ?? host.Name,
                Interface = f.String("interface"),
            }),
            Acl = Acl(r, root.Object("acl", "acl")),
            SecurityGroups = Items(r, root, "securityGroups", "securityGroup", f => new SecurityGroupConfig
            {
                Name = f.String("name") ?? "",
                Ports = [.. f.List("ports").Select(i => r.Scalar(i.Node, i.Path, "a port name") ?? "")],
                Inbound = f.Enum("inbound", PolicyNames.Actions) ?? RuleAction.Deny,
                AllowInbound = [.. f.List("allowInbound").Select(i => r.Mapping(i.Node, i.Path, "securityGroupRule")).OfType<PolicyYamlReader.Fields>()
                    .Select(g => new SecurityGroupRuleConfig { Protocol = g.Protocol("protocol").Protocol, DstPorts = g.Ports("dstPorts"), Src = g.Prefix("src", requireLength: false) })],
            }),
            LoadBalancers = Items(r, root, "loadBalancers", "loadBalancer", f =>
            {
                ushort port = (ushort)(f.Integer("port", 1, ushort.MaxValue) ?? 0);
                var (present, protocol) = f.Protocol("protocol");
                return new LoadBalancerConfig
                {
                    Name = f.String("name") ?? "",
                    Network = f.String("network") ?? "",
                    Vip = f.Address("vip") ?? NetAddress.None,
                    Port = port,
                    // "any" is not a load-balanced protocol; 0 makes validation say so.
                    Protocol = present ? protocol ?? 0 : IpProtocol.Tcp,
                    Algorithm = f.Enum("algorithm", PolicyNames.Algorithms) ?? LoadBalancingAlgorithm.Maglev,
                    Backends = [.. f.List("backends").Select(i => r.Mapping(i.Node, i.Path, "backend")).OfType<PolicyYamlReader.Fields>()
                        .Select(b => new BackendConfig(b.Address("ip") ?? NetAddress.None, (ushort)(b.Integer("port", 1, ushort.MaxValue) ?? port),
                            (int)(b.Integer("weight") ?? 1)))],
                };
            }),
            Snat = Items(r, root, "snat", "snat", f => new SnatConfig(f.String("network") ?? "", f.Address("publicIp") ?? NetAddress.None, SnatPorts(r, f))),
            Qos = Items(r, root, "qos", "qos", f => new QosConfig(f.String("port") ?? "", f.Number("rateMbps") ?? 0, (int)(f.Integer("burstKb") ?? 0))),
            Conntrack = Conntrack(root.Object("conntrack", "conntrack")),
            Offload = root.Object("offload", "offload") is { } o
                ? new OffloadConfig { When = o.Enum("when", PolicyNames.Triggers) ?? default, MinPackets = (int)(o.Integer("minPackets") ?? 0) }
                : OffloadConfig.Default,
        };
    }

    private static ImmutableArray<T> Items<T>(PolicyYamlReader r, PolicyYamlReader.Fields parent, string key, string shape, Func<PolicyYamlReader.Fields, T> read)
    {
        var items = parent.List(key);
        var result = ImmutableArray.CreateBuilder<T>(items.Count);
        foreach (var (node, path) in items)
        {
            if (r.Mapping(node, path, shape) is { } f)
                result.Add(read(f));
        }
        return result.DrainToImmutable();
    }

    private static UnderlayConfig Underlay(PolicyYamlReader.Fields? f) =>
        new(f?.Address("ip") ?? NetAddress.None, f?.Mac("mac") ?? default);

    private static ImmutableArray<PeeringConfig> Peerings(PolicyYamlReader r, PolicyYamlReader.Fields root)
    {
        var result = ImmutableArray.CreateBuilder<PeeringConfig>();
        foreach (var (node, path) in root.List("peerings"))
        {
            var pair = r.Sequence(node, path);
            if (pair.Count == 0 && node is not YamlSequenceNode)
                continue;
            if (pair.Count != 2)
            {
                r.Error(path, node, $"expected a pair of network names like [blue, red], got {pair.Count} item(s)");
                continue;
            }
            result.Add(new PeeringConfig(r.Scalar(pair[0].Node, pair[0].Path, "a network name") ?? "",
                r.Scalar(pair[1].Node, pair[1].Path, "a network name") ?? ""));
        }
        return result.DrainToImmutable();
    }

    private static AclConfig Acl(PolicyYamlReader r, PolicyYamlReader.Fields? f)
    {
        if (f is null)
            return AclConfig.Empty;
        return new AclConfig
        {
            Mode = f.Enum("mode", PolicyNames.AclModes) ?? AclMode.DenyList,
            Rules = Items(r, f, "rules", "aclRule", g => new AclRuleConfig
            {
                Priority = (int)(g.Integer("priority") ?? 0),
                Action = g.Enum("action", PolicyNames.Actions) ?? RuleAction.Deny,
                Direction = g.Enum("direction", PolicyNames.Directions) ?? TrafficDirection.Both,
                Network = g.String("network"),
                Src = g.Prefix("src", requireLength: false),
                Dst = g.Prefix("dst", requireLength: false),
                Protocol = g.Protocol("protocol").Protocol,
                SrcPorts = g.Ports("srcPorts"),
                DstPorts = g.Ports("dstPorts"),
            }),
        };
    }

    private static PortRange SnatPorts(PolicyYamlReader r, PolicyYamlReader.Fields f)
    {
        if (!f.Has("ports"))
            return new PortRange(1024, ushort.MaxValue);
        if (f.Ports("ports") is not { } set)
            return new PortRange(1024, ushort.MaxValue);
        if (set.Ranges.Length != 1)
        {
            r.Error(f.PathOf("ports"), f.Node("ports"), $"expected one range like \"1024-65535\", got '{set}'");
            return new PortRange(1024, ushort.MaxValue);
        }
        return set.Ranges[0];
    }

    private static ConntrackConfig Conntrack(PolicyYamlReader.Fields? f)
    {
        if (f is null)
            return ConntrackConfig.Default;
        var d = ConntrackTimeoutsConfig.Default;
        var t = f.Object("timeouts", "timeouts");
        int T(string key, int fallback) => (int)(t?.Integer(key) ?? fallback);
        return new ConntrackConfig
        {
            MaxEntries = (int)(f.Integer("maxEntries") ?? ConntrackConfig.Default.MaxEntries),
            Timeouts = t is null ? d : new ConntrackTimeoutsConfig
            {
                TcpEstablished = T("tcpEstablished", d.TcpEstablished),
                TcpSynSent = T("tcpSynSent", d.TcpSynSent),
                TcpSynSent2 = T("tcpSynSent2", d.TcpSynSent2),
                TcpSynRecv = T("tcpSynRecv", d.TcpSynRecv),
                TcpFinWait = T("tcpFinWait", d.TcpFinWait),
                TcpCloseWait = T("tcpCloseWait", d.TcpCloseWait),
                TcpLastAck = T("tcpLastAck", d.TcpLastAck),
                TcpTimeWait = T("tcpTimeWait", d.TcpTimeWait),
                TcpClose = T("tcpClose", d.TcpClose),
                TcpUnacknowledged = T("tcpUnacknowledged", d.TcpUnacknowledged),
                TcpMaxRetrans = T("tcpMaxRetrans", d.TcpMaxRetrans),
                Udp = T("udp", d.Udp),
                UdpStream = T("udpStream", d.UdpStream),
                Icmp = T("icmp", d.Icmp),
                Generic = T("generic", d.Generic),
            },
        };
    }
}
