using System.Runtime.InteropServices;

namespace Offload.Conntrack;

/// <summary>What conntrack made of one packet of a known connection.</summary>
public enum ConntrackVerdict : byte
{
    /// <summary>The packet is valid; the state and timeout were advanced.</summary>
    Accept = 0,
    /// <summary>The packet is let through but does not move the state or refresh the timeout (Linux's
    /// "ignore": e.g. a SYN for an established connection, a retransmitted SYN/ACK), since conntrack
    /// may be out of sync with the endpoints.</summary>
    Ignored,
    /// <summary>The packet is invalid for the connection's state; the datapath drops it with
    /// <see cref="DropReason.ConntrackInvalid"/>.</summary>
    Invalid,
    /// <summary>A SYN re-opened a closed connection: the old entry was removed (reason
    /// <see cref="ConntrackRemoveReason.Closed"/>); handle the packet as the first packet of a new one.</summary>
    Reopen,
    /// <summary>The id is stale (the connection was removed or has expired).</summary>
    NotFound,
}

/// <summary>The result of <see cref="ConntrackTable.Update(ConnectionId, ConnDirection, in Packets.ParsedPacket)"/>.</summary>
[StructLayout(LayoutKind.Auto)]
public readonly struct ConntrackUpdate
{
    internal ConntrackUpdate(ConntrackVerdict verdict, ConnState state, bool stateChanged, bool removed, int timeoutSeconds)
    {
        Verdict = verdict;
        State = state;
        StateChanged = stateChanged;
        Removed = removed;
        TimeoutSeconds = timeoutSeconds;
    }

    /// <summary>What to do with the packet.</summary>
    public ConntrackVerdict Verdict { get; }

    /// <summary>The connection's state after the packet.</summary>
    public ConnState State { get; }

    /// <summary>True when the packet moved the state.</summary>
    public bool StateChanged { get; }

    /// <summary>True when the entry no longer exists after this packet (RST before any reply, re-open,
    /// expiry); the observer has been told.</summary>
    public bool Removed { get; }

    /// <summary>The connection's timeout in seconds after the packet (the new one when refreshed, otherwise
    /// the time left, rounded up); 0 when removed.</summary>
    public int TimeoutSeconds { get; }

    /// <summary>True when the datapath must drop the packet as <see cref="DropReason.ConntrackInvalid"/>.</summary>
    public bool IsInvalid => Verdict == ConntrackVerdict.Invalid;

    /// <summary>True when the connection is over: TCP TIME_WAIT or CLOSE, or the entry is gone.</summary>
    public bool IsClosed => Removed || State is ConnState.TimeWait or ConnState.Close;
}
