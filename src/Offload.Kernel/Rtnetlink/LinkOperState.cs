namespace Offload.Kernel.Rtnetlink;

/// <summary>A link's RFC 2863 operational state (IFLA_OPERSTATE).</summary>
public enum LinkOperState : byte
{
    /// <summary>Not known (also what loopback and a link not yet seen by the kernel's link watch report).</summary>
    Unknown = 0,
    /// <summary>A component is missing.</summary>
    NotPresent = 1,
    /// <summary>Down.</summary>
    Down = 2,
    /// <summary>Down because the device below is down.</summary>
    LowerLayerDown = 3,
    /// <summary>In test mode.</summary>
    Testing = 4,
    /// <summary>Waiting for an external event.</summary>
    Dormant = 5,
    /// <summary>Up and passing traffic.</summary>
    Up = 6,
}
