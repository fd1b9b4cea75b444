using System.Runtime.CompilerServices;
using Offload.Packets;

namespace Offload.Conntrack;

/// <summary>
/// nf_conntrack's TCP state machine as data: <c>[direction][packet class][old state] → new state</c>,
/// written from the behaviour of Linux's <c>tcp_conntracks</c> table (nf_conntrack_proto_tcp.c) so the two
/// can be compared cell by cell. Columns are <see cref="ConnState"/> None … SynSent2 in enum order;
/// <see cref="Invalid"/> (sIV) and <see cref="Ignore"/> (sIG) are the two pseudo-states.
/// </summary>
/// <remarks>
/// Only the state machine is implemented; TCP window tracking (sequence/ack/window checks, retransmission
/// counting, the SYN/ACK resynchronisation of an ignored SYN) is not, so every in-state packet is treated
/// as in-window — like Linux with nf_conntrack_tcp_be_liberal plus no sequence checks.
/// </remarks>
internal static class TcpStateTable
{
    /// <summary>sIV: the packet is invalid in this state.</summary>
    public const byte Invalid = 10;

    /// <summary>sIG: let the packet through without changing anything.</summary>
    public const byte Ignore = 11;

    /// <summary>Packet classes (Linux's <c>enum tcp_bit_set</c>), the table's rows.</summary>
    public const int SynSet = 0, SynAckSet = 1, FinSet = 2, AckSet = 3, RstSet = 4, NoneSet = 5;

    private const int Classes = 6;
    private const int States = 10;

    private const byte sNO = 0, sSS = 1, sSR = 2, sES = 3, sFW = 4, sCW = 5, sLA = 6, sTW = 7, sCL = 8, sS2 = 9,
        sIV = Invalid, sIG = Ignore;

    // Why the less obvious cells are what they are (Linux's reasoning):
    //  ORIGINAL syn:    SS→SS retransmission; SR..LA→IG (conntrack may be out of sync: let the endpoints
    //                   decide); TW/CL→SS re-open (subject to the checks in ConntrackTable); S2→S2.
    //  ORIGINAL synack: only answers a SYN seen from the other side: SR→SR (late retransmission in a
    //                   simultaneous open), S2→SR (simultaneous open).
    //  ORIGINAL/REPLY fin: SR→FW (close right after the handshake), FW/CW→LA (FIN both ways), TW/CL stay.
    //  ORIGINAL ack:    NO→ES is the mid-stream pickup (nf_conntrack_tcp_loose); SS→IV (the client cannot
    //                   ACK before a SYN/ACK), FW→CW (first FIN acknowledged), LA→TW (last FIN acknowledged).
    //  REPLY syn:       SS→S2 simultaneous open; TW→SS re-open from the other end.
    //  REPLY synack:    SS/S2→SR; SR and later →IG (retransmitted or late SYN/ACK).
    //  REPLY ack:       SS→IG (ACK to a SYN we may have missed: a half-open connection), SR→SR, S2→IG.
    //  rst:             everything but NONE → CLOSE.
    private static ReadOnlySpan<byte> Table =>
    [
        // ---- ORIGINAL ----
        //  sNO  sSS  sSR  sES  sFW  sCW  sLA  sTW  sCL  sS2
            sSS, sSS, sIG, sIG, sIG, sIG, sIG, sSS, sSS, sS2, // syn
            sIV, sIV, sSR, sIV, sIV, sIV, sIV, sIV, sIV, sSR, // synack
            sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV, // fin
            sES, sIV, sES, sES, sCW, sCW, sTW, sTW, sCL, sIV, // ack
            sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, // rst
            sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, // none
        // ---- REPLY ----
        //  sNO  sSS  sSR  sES  sFW  sCW  sLA  sTW  sCL  sS2
            sIV, sS2, sIV, sIV, sIV, sIV, sIV, sSS, sIV, sS2, // syn
            sIV, sSR, sIG, sIG, sIG, sIG, sIG, sIG, sIG, sSR, // synack
            sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV, // fin
            sIV, sIG, sSR, sES, sCW, sCW, sTW, sTW, sCL, sIG, // ack
            sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, // rst
            sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, // none
    ];

    /// <summary>The next state, or <see cref="Invalid"/> / <see cref="Ignore"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte Next(ConnDirection direction, int packetClass, ConnState state) =>
        Table[((int)direction * Classes + packetClass) * States + (int)state];

    /// <summary>The packet class of a flag set (Linux's get_conntrack_index): RST wins, then SYN (with or
    /// without ACK), then FIN, then ACK.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Classify(TcpFlags flags)
    {
        if ((flags & TcpFlags.Rst) != 0)
            return RstSet;
        if ((flags & TcpFlags.Syn) != 0)
            return (flags & TcpFlags.Ack) != 0 ? SynAckSet : SynSet;
        if ((flags & TcpFlags.Fin) != 0)
            return FinSet;
        return (flags & TcpFlags.Ack) != 0 ? AckSet : NoneSet;
    }

    /// <summary>
    /// Linux's tcp_valid_flags: with PSH, ECE and CWR ignored, only SYN, SYN|URG, SYN|ACK, RST, RST|ACK,
    /// FIN|ACK, FIN|ACK|URG, ACK and ACK|URG are legal; anything else (no flags, FIN alone, SYN|FIN,
    /// SYN|RST, …) makes the packet invalid whatever the state.
    /// </summary>
    public static bool HasValidFlags(TcpFlags flags)
    {
        var f = flags & ~(TcpFlags.Psh | TcpFlags.Ece | TcpFlags.Cwr);
        return f is TcpFlags.Syn
            or (TcpFlags.Syn | TcpFlags.Urg)
            or (TcpFlags.Syn | TcpFlags.Ack)
            or TcpFlags.Rst
            or (TcpFlags.Rst | TcpFlags.Ack)
            or (TcpFlags.Fin | TcpFlags.Ack)
            or (TcpFlags.Fin | TcpFlags.Ack | TcpFlags.Urg)
            or TcpFlags.Ack
            or (TcpFlags.Ack | TcpFlags.Urg);
    }
}
