namespace Offload.Conntrack;

/// <summary>Why a connection left the table.</summary>
public enum ConntrackRemoveReason : byte
{
    /// <summary>Its timeout ran out with no packet refreshing it.</summary>
    Timeout = 0,
    /// <summary>Evicted to make room for a new connection while the table was full.</summary>
    EarlyDrop,
    /// <summary>Removed by the control plane.</summary>
    Explicit,
    /// <summary>Destroyed by a packet: an RST before any reply (connection refused or aborted), or a SYN
    /// re-opening a TIME_WAIT/CLOSE connection (the new connection is created afresh, as Linux does).</summary>
    Closed,
    /// <summary>The slow path ended it: for the kernel slow path, the kernel's own conntrack entry was destroyed
    /// (its timeout, a TCP close, <c>conntrack -D</c>, a flush), so the fast path follows.</summary>
    SlowPath,
}
