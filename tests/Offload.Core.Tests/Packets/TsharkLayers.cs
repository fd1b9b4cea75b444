using Offload.Packets;

namespace Offload.Tests.Packets;

/// <summary>
/// tshark's fields for one frame, split into its IP layers in the order of <c>frame.protocols</c>: with
/// occurrence=a each field lists every instance (outer IP, IP quoted by ICMP, tunnelled IP) comma-separated,
/// and the n-th "ip" in the protocol path owns the n-th <c>ip.src</c>.
/// </summary>
internal sealed class TsharkLayers
{
    internal sealed record IpLayer(int PathIndex, bool V6, string Src, string Dst, string? Transport, int TransportIndex);

    private readonly string[][] _cols;
    private readonly string[] _path;
    private readonly int _vxlanIndex = -1;
    private readonly int _greIndex = -1;

    public List<IpLayer> Ip { get; } = [];

    public TsharkLayers(string[] cols, int protocolsColumn, int ipSrc, int ip6Src, int tcpSrc, int udpSrc, int vni, int greKey)
    {
        _cols = cols.Select(c => c.Length == 0 ? Array.Empty<string>() : c.Split(',')).ToArray();
        _path = cols[protocolsColumn].Split(':');
        _tcpSrc = tcpSrc;
        _udpSrc = udpSrc;
        _vniCol = vni;
        _greKeyCol = greKey;
        int v4 = 0, v6 = 0, tcp = 0, udp = 0;
        IpLayer? open = null;
        for (int i = 0; i < _path.Length; i++)
        {
            switch (_path[i])
            {
                case "ip":
                case "ipv6":
                    bool isV6 = _path[i] == "ipv6";
                    int idx = isV6 ? v6++ : v4++;
                    var srcs = _cols[isV6 ? ip6Src : ipSrc];
                    var dsts = _cols[(isV6 ? ip6Src : ipSrc) + 1];
                    if (open is not null)
                        Ip.Add(open);
                    open = new IpLayer(i, isV6, idx < srcs.Length ? srcs[idx] : "?", idx < dsts.Length ? dsts[idx] : "?", null, -1);
                    break;
                case "tcp":
                    if (open is not null && open.Transport is null)
                        open = open with { Transport = "tcp", TransportIndex = tcp };
                    tcp++;
                    break;
                case "udp":
                    if (open is not null && open.Transport is null)
                        open = open with { Transport = "udp", TransportIndex = udp };
                    udp++;
                    break;
                case "vxlan":
                    _vxlanIndex = _vxlanIndex < 0 ? i : _vxlanIndex;
                    break;
                case "gre":
                    _greIndex = _greIndex < 0 ? i : _greIndex;
                    break;
                default:
                    // Another protocol between IP and TCP/UDP (e.g. "icmp", "ipv6.fraghdr"): the IP layer's own
                    // transport is that protocol unless it is an extension header.
                    if (open is not null && open.Transport is null && !_path[i].StartsWith("ipv6.", StringComparison.Ordinal))
                        open = open with { Transport = _path[i] };
                    break;
            }
        }
        if (open is not null)
            Ip.Add(open);
    }

    private readonly int _tcpSrc, _udpSrc, _vniCol, _greKeyCol;

    public int FirstIp => Ip.Count > 0 ? 0 : -1;

    /// <summary>The first IP layer after the tunnel header, or -1.</summary>
    public int FirstIpAfterTunnel(TunnelKind tunnel)
    {
        int at = tunnel == TunnelKind.Vxlan ? _vxlanIndex : _greIndex;
        if (at < 0)
            return -1;
        for (int i = 0; i < Ip.Count; i++)
        {
            if (Ip[i].PathIndex > at)
                return i;
        }
        return -1;
    }

    public (string Src, string Dst) Ports(IpLayer l)
    {
        if (l.Transport is not ("tcp" or "udp") || l.TransportIndex < 0)
            return ("-", "-");
        int col = l.Transport == "tcp" ? _tcpSrc : _udpSrc;
        var srcs = _cols[col];
        var dsts = _cols[col + 1];
        return (l.TransportIndex < srcs.Length ? srcs[l.TransportIndex] : "?", l.TransportIndex < dsts.Length ? dsts[l.TransportIndex] : "?");
    }

    public string Vni(TunnelKind tunnel)
    {
        var values = _cols[tunnel == TunnelKind.Vxlan ? _vniCol : _greKeyCol];
        if (values.Length == 0)
            return "0"; // GRE without a key: we report VNI 0, tshark has no field.
        return tunnel == TunnelKind.Gre && values[0].StartsWith("0x", StringComparison.Ordinal)
            ? Convert.ToUInt32(values[0], 16).ToString(System.Globalization.CultureInfo.InvariantCulture)
            : values[0];
    }
}
