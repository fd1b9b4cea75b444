namespace Offload.Kernel.Conntrack;

/// <summary>Which ctnetlink multicast groups a listener joins.</summary>
[Flags]
public enum ConntrackEventGroups
{
    /// <summary>None.</summary>
    None = 0,
    /// <summary>NFNLGRP_CONNTRACK_NEW.</summary>
    New = 1,
    /// <summary>NFNLGRP_CONNTRACK_UPDATE.</summary>
    Update = 2,
    /// <summary>NFNLGRP_CONNTRACK_DESTROY.</summary>
    Destroy = 4,
    /// <summary>All three.</summary>
    All = New | Update | Destroy,
}
