namespace Offload;

/// <summary>
/// Why a frame was dropped. Every drop on the packet path carries one, and every one is counted;
/// <see cref="DropReasonNames.Name"/> gives the stable kebab-case name used in output and metrics.
/// </summary>
public enum DropReason : byte
{
    /// <summary>Not dropped.</summary>
    None = 0,

    // ---- malformed or unsupported frames (parser) ----
    /// <summary>Frame shorter than an Ethernet header.</summary>
    TruncatedEthernet,
    /// <summary>A VLAN tag cut short, or more than two stacked tags.</summary>
    BadVlan,
    /// <summary>An EtherType the switch does not carry (not IPv4, IPv6 or ARP).</summary>
    UnsupportedEtherType,
    /// <summary>ARP frame cut short or not Ethernet/IPv4 ARP.</summary>
    BadArp,
    /// <summary>IPv4 header cut short, version ≠ 4, IHL &lt; 5, or IHL beyond the frame.</summary>
    BadIpv4Header,
    /// <summary>IPv4 total length smaller than the header or larger than the frame.</summary>
    BadIpv4Length,
    /// <summary>IPv4 options malformed (an option length running past the header).</summary>
    BadIpv4Options,
    /// <summary>IPv6 header cut short, version ≠ 6, or payload length larger than the frame.</summary>
    BadIpv6Header,
    /// <summary>An IPv6 extension header cut short or malformed.</summary>
    BadIpv6ExtensionHeader,
    /// <summary>IPv6 extension-header chain longer than the switch follows (loop or abuse).</summary>
    Ipv6ExtensionChainTooLong,
    /// <summary>A fragment that is not well formed (bad offset/length, or a tiny first fragment without ports).</summary>
    BadFragment,
    /// <summary>A non-first fragment whose first fragment was never seen.</summary>
    FragmentWithoutFlow,
    /// <summary>TCP header cut short or data offset out of range.</summary>
    BadTcpHeader,
    /// <summary>UDP header cut short or UDP length inconsistent with the IP payload.</summary>
    BadUdpHeader,
    /// <summary>ICMP/ICMPv6 header cut short.</summary>
    BadIcmpHeader,
    /// <summary>VXLAN header cut short or the I flag not set.</summary>
    BadVxlanHeader,
    /// <summary>GRE header cut short, a version other than 0, or routing present.</summary>
    BadGreHeader,
    /// <summary>Tunnel nested inside a tunnel beyond one level.</summary>
    TunnelTooDeep,
    /// <summary>An L4 protocol the switch does not track.</summary>
    UnsupportedProtocol,

    // ---- datapath decisions ----
    /// <summary>Frame from a port the switch does not know.</summary>
    UnknownPort,
    /// <summary>Denied by an ACL rule.</summary>
    Acl,
    /// <summary>Denied by a stateful security group.</summary>
    SecurityGroup,
    /// <summary>No route: destination not in any reachable network, VIP or public range.</summary>
    NoRoute,
    /// <summary>Over the port's QoS rate (token bucket empty).</summary>
    Qos,
    /// <summary>TTL or hop limit reached zero.</summary>
    TtlExceeded,
    /// <summary>SNAT port range exhausted.</summary>
    SnatExhausted,
    /// <summary>Load balancer has no usable backend.</summary>
    NoBackend,
    /// <summary>Connection tracking judged the packet invalid for the connection's state.</summary>
    ConntrackInvalid,
    /// <summary>Connection tracking table full and nothing could be evicted.</summary>
    ConntrackFull,
    /// <summary>The slow path failed to decide (error or timeout).</summary>
    SlowPathError,
    /// <summary>The frame does not fit in its buffer after encapsulation.</summary>
    NoHeadroom,
    /// <summary>Too many packets queued behind a connection whose entries are being installed.</summary>
    PendingQueueFull,
    /// <summary>A policy drop flow (the slow path decided to drop this connection).</summary>
    Policy,
    /// <summary>The flow's action does not fit the frame (a NAT address of the other IP family, a decap of a
    /// frame without tunnel headers, an encapsulated frame over the maximum IP length).</summary>
    ActionMismatch,
    /// <summary>A VM sent a packet whose source address is not its own (anti-spoofing).</summary>
    SpoofedSource,
    /// <summary>Traffic from the public network that belongs to no connection (unsolicited inbound).</summary>
    Unsolicited,
    /// <summary>The slow path gave no answer in time (the kernel neither forwarded nor logged a drop of the packet).</summary>
    SlowPathTimeout,
}

/// <summary>Stable names of <see cref="DropReason"/> values.</summary>
public static class DropReasonNames
{
    private static readonly string[] Names = Build();

    /// <summary>The kebab-case name ("acl", "security-group", "bad-ipv4-header" …).</summary>
    public static string Name(this DropReason reason) =>
        (uint)reason < (uint)Names.Length ? Names[(int)reason] : reason.ToString();

    private static string[] Build()
    {
        var values = Enum.GetValues<DropReason>();
        var names = new string[values.Length];
        foreach (var v in values)
            names[(int)v] = v == DropReason.None ? "none" : ToKebab(v.ToString());
        return names;
    }

    private static string ToKebab(string pascal)
    {
        var sb = new System.Text.StringBuilder(pascal.Length + 8);
        for (int i = 0; i < pascal.Length; i++)
        {
            char c = pascal[i];
            bool boundary = char.IsUpper(c) && i > 0 &&
                            (!char.IsUpper(pascal[i - 1]) || (i + 1 < pascal.Length && char.IsLower(pascal[i + 1])));
            if (boundary)
                sb.Append('-');
            sb.Append(char.ToLowerInvariant(c));
        }
        return sb.ToString();
    }
}
