namespace Offload.Kernel.Conntrack;

/// <summary>Outcome of <see cref="CtnetlinkEventListener.Receive(List{ConntrackEvent}, bool)"/>.</summary>
public enum ConntrackReceiveStatus : byte
{
    /// <summary>One datagram was read; its events (possibly none) were appended.</summary>
    Received,
    /// <summary>Nothing arrived within the receive timeout (for a receive that does not wait: nothing was queued).</summary>
    TimedOut,
    /// <summary>
    /// The kernel dropped events because the socket buffer was full (ENOBUFS): the caller's view is now stale and
    /// must be rebuilt from <see cref="CtnetlinkClient.Dump"/>.
    /// </summary>
    Overflow,
}
