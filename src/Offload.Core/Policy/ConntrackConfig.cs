using Offload.Conntrack;

namespace Offload.Policy;

/// <summary>Connection tracking settings (<c>conntrack:</c>); unset values keep Linux's defaults.</summary>
public sealed record ConntrackConfig
{
    /// <summary>The defaults of <see cref="ConntrackOptions"/>.</summary>
    public static ConntrackConfig Default { get; } = new();

    /// <summary>Most connections tracked at once (nf_conntrack_max).</summary>
    public int MaxEntries { get; init; } = new ConntrackOptions().MaxEntries;

    /// <summary>Per-state timeouts.</summary>
    public ConntrackTimeoutsConfig Timeouts { get; init; } = ConntrackTimeoutsConfig.Default;

    /// <summary>A fresh <see cref="ConntrackOptions"/> with these values (other options at their defaults).</summary>
    public ConntrackOptions ToOptions() => new() { MaxEntries = MaxEntries, Timeouts = Timeouts.ToTimeouts() };
}

/// <summary>Per-state timeouts in seconds (<c>conntrack.timeouts:</c>); defaults are <see cref="ConntrackTimeouts"/>'s.</summary>
public sealed record ConntrackTimeoutsConfig
{
    private static readonly ConntrackTimeouts Defaults = new();

    /// <summary>All defaults.</summary>
    public static ConntrackTimeoutsConfig Default { get; } = new();

    /// <summary>TCP ESTABLISHED.</summary>
    public int TcpEstablished { get; init; } = Defaults.TcpEstablished;
    /// <summary>TCP SYN_SENT.</summary>
    public int TcpSynSent { get; init; } = Defaults.TcpSynSent;
    /// <summary>TCP SYN_SENT2 (simultaneous open).</summary>
    public int TcpSynSent2 { get; init; } = Defaults.TcpSynSent2;
    /// <summary>TCP SYN_RECV.</summary>
    public int TcpSynRecv { get; init; } = Defaults.TcpSynRecv;
    /// <summary>TCP FIN_WAIT.</summary>
    public int TcpFinWait { get; init; } = Defaults.TcpFinWait;
    /// <summary>TCP CLOSE_WAIT.</summary>
    public int TcpCloseWait { get; init; } = Defaults.TcpCloseWait;
    /// <summary>TCP LAST_ACK.</summary>
    public int TcpLastAck { get; init; } = Defaults.TcpLastAck;
    /// <summary>TCP TIME_WAIT.</summary>
    public int TcpTimeWait { get; init; } = Defaults.TcpTimeWait;
    /// <summary>TCP CLOSE.</summary>
    public int TcpClose { get; init; } = Defaults.TcpClose;
    /// <summary>TCP with unacknowledged data.</summary>
    public int TcpUnacknowledged { get; init; } = Defaults.TcpUnacknowledged;
    /// <summary>TCP after too many retransmissions.</summary>
    public int TcpMaxRetrans { get; init; } = Defaults.TcpMaxRetrans;
    /// <summary>UDP before it is a stream.</summary>
    public int Udp { get; init; } = Defaults.Udp;
    /// <summary>UDP stream.</summary>
    public int UdpStream { get; init; } = Defaults.UdpStream;
    /// <summary>ICMP and ICMPv6 queries.</summary>
    public int Icmp { get; init; } = Defaults.Icmp;
    /// <summary>Any other protocol.</summary>
    public int Generic { get; init; } = Defaults.Generic;

    /// <summary>A fresh <see cref="ConntrackTimeouts"/> with these values.</summary>
    public ConntrackTimeouts ToTimeouts() => new()
    {
        TcpEstablished = TcpEstablished,
        TcpSynSent = TcpSynSent,
        TcpSynSent2 = TcpSynSent2,
        TcpSynRecv = TcpSynRecv,
        TcpFinWait = TcpFinWait,
        TcpCloseWait = TcpCloseWait,
        TcpLastAck = TcpLastAck,
        TcpTimeWait = TcpTimeWait,
        TcpClose = TcpClose,
        TcpUnacknowledged = TcpUnacknowledged,
        TcpMaxRetrans = TcpMaxRetrans,
        Udp = Udp,
        UdpStream = UdpStream,
        Icmp = Icmp,
        Generic = Generic,
    };
}
