using System.Collections.Frozen;
using System.Collections.Immutable;

namespace Offload.Policy;

/// <summary>A key a policy object may have.</summary>
/// <param name="Name">The YAML key.</param>
/// <param name="Required">True when the object is invalid without it.</param>
/// <param name="Shape">The shape of the value (or of each list item) when it is an object.</param>
internal sealed record PolicyKey(string Name, bool Required, string? Shape = null);

/// <summary>
/// Every object shape of the policy document and its keys, in document order. The loader checks keys against
/// this table, errors are ordered by it, and a test holds the JSON Schema to it: one list, three uses.
/// </summary>
internal static class PolicyShapes
{
    internal const string Root = "policy";

    internal static readonly FrozenDictionary<string, ImmutableArray<PolicyKey>> All = new Dictionary<string, ImmutableArray<PolicyKey>>
    {
        [Root] =
        [
            new("host", true, "host"), new("hosts", false, "remoteHost"), new("networks", false, "network"),
            new("peerings", false), new("ports", false, "port"), new("acl", false, "acl"),
            new("securityGroups", false, "securityGroup"), new("loadBalancers", false, "loadBalancer"),
            new("snat", false, "snat"), new("qos", false, "qos"), new("conntrack", false, "conntrack"),
            new("offload", false, "offload"),
        ],
        ["host"] = [new("name", true), new("underlay", true, "underlay"), new("gatewayMac", false), new("uplink", false)],
        ["underlay"] = [new("ip", true), new("mac", true)],
        ["remoteHost"] = [new("name", true), new("underlay", true, "underlay")],
        ["network"] = [new("name", true), new("vni", true), new("cidr", true), new("cidr6", false), new("tunnel", false)],
        ["port"] =
        [
            new("name", true), new("network", true), new("mac", true), new("ip", true), new("ipv6", false),
            new("host", false), new("interface", false),
        ],
        ["acl"] = [new("mode", false), new("rules", false, "aclRule")],
        ["aclRule"] =
        [
            new("priority", true), new("action", true), new("direction", false), new("network", false),
            new("src", false), new("dst", false), new("protocol", false), new("srcPorts", false), new("dstPorts", false),
        ],
        ["securityGroup"] = [new("name", true), new("ports", true), new("inbound", false), new("allowInbound", false, "securityGroupRule")],
        ["securityGroupRule"] = [new("protocol", false), new("dstPorts", false), new("src", false)],
        ["loadBalancer"] =
        [
            new("name", true), new("network", true), new("vip", true), new("port", true), new("protocol", false),
            new("algorithm", false), new("backends", true, "backend"),
        ],
        ["backend"] = [new("ip", true), new("port", false), new("weight", false)],
        ["snat"] = [new("network", true), new("publicIp", true), new("ports", false)],
        ["qos"] = [new("port", true), new("rateMbps", true), new("burstKb", true)],
        ["conntrack"] = [new("maxEntries", false), new("timeouts", false, "timeouts")],
        ["timeouts"] =
        [
            new("tcpEstablished", false), new("tcpSynSent", false), new("tcpSynSent2", false), new("tcpSynRecv", false),
            new("tcpFinWait", false), new("tcpCloseWait", false), new("tcpLastAck", false), new("tcpTimeWait", false),
            new("tcpClose", false), new("tcpUnacknowledged", false), new("tcpMaxRetrans", false), new("udp", false),
            new("udpStream", false), new("icmp", false), new("generic", false),
        ],
        ["offload"] = [new("when", false), new("minPackets", false)],
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>The key named <paramref name="key"/> of <paramref name="shape"/>, and its rank in document order.</summary>
    internal static bool TryGetKey(string shape, string key, out PolicyKey? found, out int rank)
    {
        var keys = All[shape];
        for (int i = 0; i < keys.Length; i++)
        {
            if (string.Equals(keys[i].Name, key, StringComparison.Ordinal))
            {
                found = keys[i];
                rank = i;
                return true;
            }
        }
        found = null;
        rank = keys.Length;
        return false;
    }
}
