namespace Offload.Kernel.Conntrack;

/// <summary>Bits of a kernel conntrack entry's status (enum ip_conntrack_status).</summary>
[Flags]
public enum ConntrackStatus : uint
{
    /// <summary>No bit set.</summary>
    None = 0,
    /// <summary>An expected connection (e.g. FTP data).</summary>
    Expected = 1u << 0,
    /// <summary>Packets seen in both directions.</summary>
    SeenReply = 1u << 1,
    /// <summary>Never early-dropped.</summary>
    Assured = 1u << 2,
    /// <summary>Committed to the table.</summary>
    Confirmed = 1u << 3,
    /// <summary>Source NAT applies.</summary>
    SourceNat = 1u << 4,
    /// <summary>Destination NAT applies.</summary>
    DestinationNat = 1u << 5,
    /// <summary>TCP sequence numbers are adjusted.</summary>
    SequenceAdjust = 1u << 6,
    /// <summary>Source NAT set up.</summary>
    SourceNatDone = 1u << 7,
    /// <summary>Destination NAT set up.</summary>
    DestinationNatDone = 1u << 8,
    /// <summary>Being destroyed.</summary>
    Dying = 1u << 9,
    /// <summary>Timeout is not refreshed by packets.</summary>
    FixedTimeout = 1u << 10,
    /// <summary>A template, not a connection.</summary>
    Template = 1u << 11,
    /// <summary>Untracked.</summary>
    Untracked = 1u << 12,
    /// <summary>A helper is attached.</summary>
    Helper = 1u << 13,
    /// <summary>Offloaded to the software flow table.</summary>
    Offload = 1u << 14,
    /// <summary>Offloaded to hardware.</summary>
    HardwareOffload = 1u << 15,
}
