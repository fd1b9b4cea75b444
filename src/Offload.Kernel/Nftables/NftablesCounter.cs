namespace Offload.Kernel.Nftables;

/// <summary>Packets and bytes an nftables counter has seen.</summary>
/// <param name="Packets">Packets counted.</param>
/// <param name="Bytes">Bytes counted (network-layer length).</param>
public readonly record struct NftablesCounter(long Packets, long Bytes);
