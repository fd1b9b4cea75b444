namespace Offload.Actions;

/// <summary>The encapsulation an <see cref="EncapTemplate"/> writes.</summary>
public enum TunnelType : byte
{
    /// <summary>VXLAN (RFC 7348): outer Ethernet/IP/UDP/VXLAN.</summary>
    Vxlan = 0,
    /// <summary>GRE (RFC 2890) with the key = VNI, carrying Ethernet (protocol 0x6558).</summary>
    Gre,
}
