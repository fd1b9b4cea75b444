namespace Offload.Packets;

/// <summary>EtherType values the datapath understands.</summary>
public static class EtherType
{
    /// <summary>IPv4.</summary>
    public const ushort IPv4 = 0x0800;
    /// <summary>ARP.</summary>
    public const ushort Arp = 0x0806;
    /// <summary>IEEE 802.1Q customer VLAN tag.</summary>
    public const ushort Vlan = 0x8100;
    /// <summary>IEEE 802.1ad service tag (QinQ outer tag).</summary>
    public const ushort QinQ = 0x88A8;
    /// <summary>Pre-standard QinQ outer tag still seen in the wild.</summary>
    public const ushort QinQLegacy = 0x9100;
    /// <summary>IPv6.</summary>
    public const ushort IPv6 = 0x86DD;
    /// <summary>Transparent Ethernet bridging: the GRE payload type of an Ethernet frame.</summary>
    public const ushort TransparentEthernetBridging = 0x6558;
}

/// <summary>IP protocol numbers (IPv4 protocol / IPv6 next header) the datapath understands.</summary>
public static class IpProtocol
{
    /// <summary>IPv6 hop-by-hop options.</summary>
    public const byte HopByHop = 0;
    /// <summary>ICMP.</summary>
    public const byte Icmp = 1;
    /// <summary>TCP.</summary>
    public const byte Tcp = 6;
    /// <summary>UDP.</summary>
    public const byte Udp = 17;
    /// <summary>IPv6 routing header.</summary>
    public const byte Routing = 43;
    /// <summary>IPv6 fragment header.</summary>
    public const byte Fragment = 44;
    /// <summary>GRE.</summary>
    public const byte Gre = 47;
    /// <summary>IPsec ESP (not an extension header: it ends the chain).</summary>
    public const byte Esp = 50;
    /// <summary>IPsec AH (an extension header with its own length unit).</summary>
    public const byte Ah = 51;
    /// <summary>ICMPv6.</summary>
    public const byte IcmpV6 = 58;
    /// <summary>IPv6 no next header.</summary>
    public const byte NoNextHeader = 59;
    /// <summary>IPv6 destination options.</summary>
    public const byte DestinationOptions = 60;
    /// <summary>Mobility header.</summary>
    public const byte Mobility = 135;

    /// <summary>The name used in output ("tcp", "udp", "icmp", "icmpv6", or the number).</summary>
    public static string Name(byte protocol) => protocol switch
    {
        Tcp => "tcp",
        Udp => "udp",
        Icmp => "icmp",
        IcmpV6 => "icmpv6",
        Gre => "gre",
        _ => protocol.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
