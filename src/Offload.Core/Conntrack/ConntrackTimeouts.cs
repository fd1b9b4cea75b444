namespace Offload.Conntrack;

/// <summary>
/// Per-state timeouts in seconds; the defaults are Linux's nf_conntrack defaults
/// (<c>net.netfilter.nf_conntrack_*_timeout*</c>).
/// </summary>
public sealed class ConntrackTimeouts
{
    /// <summary>Largest accepted timeout: one year.</summary>
    public const int MaxSeconds = 365 * 24 * 3600;

    /// <summary>TCP SYN_SENT (nf_conntrack_tcp_timeout_syn_sent).</summary>
    public int TcpSynSent { get; set; } = 120;
    /// <summary>TCP SYN_RECV.</summary>
    public int TcpSynRecv { get; set; } = 60;
    /// <summary>TCP ESTABLISHED (5 days).</summary>
    public int TcpEstablished { get; set; } = 432_000;
    /// <summary>TCP FIN_WAIT.</summary>
    public int TcpFinWait { get; set; } = 120;
    /// <summary>TCP CLOSE_WAIT.</summary>
    public int TcpCloseWait { get; set; } = 60;
    /// <summary>TCP LAST_ACK.</summary>
    public int TcpLastAck { get; set; } = 30;
    /// <summary>TCP TIME_WAIT.</summary>
    public int TcpTimeWait { get; set; } = 120;
    /// <summary>TCP CLOSE (also the timeout after any RST).</summary>
    public int TcpClose { get; set; } = 10;
    /// <summary>TCP SYN_SENT2 (simultaneous open).</summary>
    public int TcpSynSent2 { get; set; } = 120;
    /// <summary>TCP with unacknowledged data (nf_conntrack_tcp_timeout_unacknowledged); used as the cap for a
    /// connection picked up mid-stream that has not seen a reply yet.</summary>
    public int TcpUnacknowledged { get; set; } = 300;
    /// <summary>TCP after too many retransmissions (nf_conntrack_tcp_timeout_max_retrans). Accepted and
    /// validated for configuration parity, but unused: counting retransmissions needs window tracking.</summary>
    public int TcpMaxRetrans { get; set; } = 300;
    /// <summary>UDP before it is a stream (nf_conntrack_udp_timeout).</summary>
    public int Udp { get; set; } = 30;
    /// <summary>UDP stream (nf_conntrack_udp_timeout_stream).</summary>
    public int UdpStream { get; set; } = 120;
    /// <summary>ICMP and ICMPv6 queries.</summary>
    public int Icmp { get; set; } = 30;
    /// <summary>Any other protocol (nf_conntrack_generic_timeout).</summary>
    public int Generic { get; set; } = 600;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first timeout outside 1 … <see cref="MaxSeconds"/>.</summary>
    public void Validate()
    {
        Check(TcpSynSent, nameof(TcpSynSent));
        Check(TcpSynRecv, nameof(TcpSynRecv));
        Check(TcpEstablished, nameof(TcpEstablished));
        Check(TcpFinWait, nameof(TcpFinWait));
        Check(TcpCloseWait, nameof(TcpCloseWait));
        Check(TcpLastAck, nameof(TcpLastAck));
        Check(TcpTimeWait, nameof(TcpTimeWait));
        Check(TcpClose, nameof(TcpClose));
        Check(TcpSynSent2, nameof(TcpSynSent2));
        Check(TcpUnacknowledged, nameof(TcpUnacknowledged));
        Check(TcpMaxRetrans, nameof(TcpMaxRetrans));
        Check(Udp, nameof(Udp));
        Check(UdpStream, nameof(UdpStream));
        Check(Icmp, nameof(Icmp));
        Check(Generic, nameof(Generic));
    }

    /// <summary>The timeout of a TCP state (<see cref="ConnState.None"/> … <see cref="ConnState.SynSent2"/>).</summary>
    public int ForTcpState(ConnState state) => state switch
    {
        ConnState.SynSent => TcpSynSent,
        ConnState.SynRecv => TcpSynRecv,
        ConnState.Established => TcpEstablished,
        ConnState.FinWait => TcpFinWait,
        ConnState.CloseWait => TcpCloseWait,
        ConnState.LastAck => TcpLastAck,
        ConnState.TimeWait => TcpTimeWait,
        ConnState.Close => TcpClose,
        ConnState.SynSent2 => TcpSynSent2,
        _ => TcpClose,
    };

    private static void Check(int seconds, string name)
    {
        if (seconds is < 1 or > MaxSeconds)
            throw new ArgumentException(
                $"ConntrackOptions.Timeouts.{name} must be between 1 and {MaxSeconds} seconds (was {seconds}).", name);
    }
}
