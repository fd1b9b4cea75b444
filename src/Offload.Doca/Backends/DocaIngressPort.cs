namespace Offload.Doca.Backends;

/// <summary>
/// A port the DOCA backend takes traffic in on. Flows key on their ingress port and VNI; an uplink
/// (<see cref="NetworkVni"/> null) matches the VNI carried in the VXLAN/GRE header, a VM-facing port
/// carries one virtual network whose VNI is implied by the port and is not in the packet.
/// </summary>
/// <param name="Port">DOCA port id (the flow key's ingress port).</param>
/// <param name="NetworkVni">The VNI of the network behind a VM-facing port; null for a tunnel uplink.</param>
public readonly record struct DocaIngressPort(ushort Port, uint? NetworkVni = null);
