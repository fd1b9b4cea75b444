namespace Offload.Kernel.PacketIo;

/// <summary>Options of a <see cref="PacketPump"/>.</summary>
public sealed class PacketPumpOptions
{
    /// <summary>Frames received from one interface per batch (and queued per interface before a send).</summary>
    public int BatchSize { get; set; } = 64;

    /// <summary>The largest frame a slot holds, received or sent; longer frames are counted and discarded.
    /// Default: a 1500-byte MTU with one VLAN tag, rounded up.</summary>
    public int FrameSize { get; set; } = 2048;

    /// <summary>SO_RCVBUF of each packet socket in bytes (what the kernel queues before it drops), forced past the system's limit
    /// when the process has CAP_NET_ADMIN (else the system default applies); 0 for the system default.</summary>
    public int ReceiveBufferBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>How long one wait for frames lasts at most, so a stop or housekeeping is never later than this.</summary>
    public TimeSpan WaitTimeout { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (BatchSize is < 1 or > 1024)
            throw new ArgumentException("BatchSize must be 1..1024.", nameof(BatchSize));
        if (FrameSize is < 64 or > 65535 + 18)
            throw new ArgumentException("FrameSize must be 64..65553.", nameof(FrameSize));
        if (ReceiveBufferBytes < 0)
            throw new ArgumentException("ReceiveBufferBytes must not be negative.", nameof(ReceiveBufferBytes));
        if (WaitTimeout <= TimeSpan.Zero || WaitTimeout > TimeSpan.FromSeconds(10))
            throw new ArgumentException("WaitTimeout must be more than 0 and at most 10 s.", nameof(WaitTimeout));
    }
}
