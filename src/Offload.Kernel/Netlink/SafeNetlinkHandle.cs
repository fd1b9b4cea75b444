using System.Runtime.InteropServices;

namespace Offload.Kernel.Netlink;

/// <summary>Owns a netlink socket file descriptor.</summary>
public sealed class SafeNetlinkHandle : SafeHandle
{
    /// <summary>Creates an invalid handle (used by the interop marshaller).</summary>
    public SafeNetlinkHandle() : base(-1, ownsHandle: true)
    {
    }

    internal SafeNetlinkHandle(int fd) : base(-1, ownsHandle: true) => SetHandle(fd);

    /// <inheritdoc />
    public override bool IsInvalid => handle < 0;

    /// <inheritdoc />
    protected override bool ReleaseHandle() => Interop.Sys.Close(handle) == 0;
}
