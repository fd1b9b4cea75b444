namespace Offload.Kernel.SlowPath;

/// <summary>What a TAP of <see cref="KernelHostTopology"/> stands for.</summary>
internal enum HostDeviceKind
{
    Port,
    Tunnel,
    Uplink,
}
