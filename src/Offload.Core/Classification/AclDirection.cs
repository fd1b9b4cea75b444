namespace Offload.Classification;

/// <summary>
/// Which way a packet crosses the VM's port, seen from the VM: <see cref="Egress"/> leaves the VM,
/// <see cref="Ingress"/> enters it. Rules may name <see cref="Both"/>; a query is always
/// <see cref="Ingress"/> or <see cref="Egress"/> (any other value in a query matches no rule).
/// </summary>
public enum AclDirection : byte
{
    /// <summary>Towards the VM.</summary>
    Ingress = 0,
    /// <summary>Away from the VM.</summary>
    Egress = 1,
    /// <summary>Rule only: either direction.</summary>
    Both = 2,
}
