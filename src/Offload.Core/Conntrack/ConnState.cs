namespace Offload.Conntrack;

/// <summary>
/// The state of a tracked connection. The TCP members keep nf_conntrack's names and order
/// (<c>enum tcp_conntrack</c>), which is also the column order of <see cref="TcpStateTable"/>;
/// the last three are the states shown for UDP, ICMP and other protocols.
/// </summary>
public enum ConnState : byte
{
    /// <summary>TCP: no state yet (never stored: a new entry moves straight out of it).</summary>
    None = 0,
    /// <summary>TCP: SYN seen in the original direction.</summary>
    SynSent,
    /// <summary>TCP: SYN/ACK seen in answer to the SYN.</summary>
    SynRecv,
    /// <summary>TCP: handshake completed (or a connection picked up mid-stream).</summary>
    Established,
    /// <summary>TCP: FIN seen in one direction.</summary>
    FinWait,
    /// <summary>TCP: the first FIN was acknowledged.</summary>
    CloseWait,
    /// <summary>TCP: FIN seen in both directions, the last one not yet acknowledged.</summary>
    LastAck,
    /// <summary>TCP: both FINs acknowledged; lingering for late segments.</summary>
    TimeWait,
    /// <summary>TCP: reset.</summary>
    Close,
    /// <summary>TCP: simultaneous open (SYN seen in both directions).</summary>
    SynSent2,
    /// <summary>UDP, ICMP, other: only the original direction seen.</summary>
    Unreplied,
    /// <summary>UDP, ICMP, other: a reply was seen.</summary>
    Replied,
    /// <summary>UDP: a stream (traffic continued after the reply); kept longer and never early-dropped.</summary>
    Assured,
}

/// <summary>Names of <see cref="ConnState"/> as <c>conntrack -L</c> prints them.</summary>
public static class ConnStateNames
{
    private static readonly string[] Names =
    [
        "NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT", "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE",
        "SYN_SENT2", "UNREPLIED", "REPLIED", "ASSURED",
    ];

    /// <summary>Number of <see cref="ConnState"/> values.</summary>
    internal const int Count = 13;

    /// <summary>The upper-case name ("SYN_SENT", "ESTABLISHED", "UNREPLIED" …).</summary>
    public static string Name(this ConnState state) =>
        (uint)state < (uint)Names.Length ? Names[(int)state] : ((byte)state).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>True for the TCP states.</summary>
    public static bool IsTcp(this ConnState state) => state <= ConnState.SynSent2;
}
