namespace Offload.Kernel.Nflog;

/// <summary>Outcome of <see cref="NflogListener.Receive"/>.</summary>
public enum NflogReceiveStatus : byte
{
    /// <summary>One datagram was read; its records (possibly none) were appended.</summary>
    Received,
    /// <summary>Nothing arrived within the receive timeout.</summary>
    TimedOut,
    /// <summary>
    /// The kernel dropped log messages because the socket buffer was full (ENOBUFS): some drops were not reported,
    /// so a consumer waiting for a particular drop record must not rely on it arriving.
    /// </summary>
    Overflow,
}
