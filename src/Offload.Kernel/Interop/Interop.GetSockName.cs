using System.Runtime.InteropServices;

internal static partial class Interop
{
    internal static partial class Sys
    {
        [LibraryImport(Libraries.Libc, EntryPoint = "getsockname", SetLastError = true)]
        internal static unsafe partial int GetSockName(Offload.Kernel.Netlink.SafeNetlinkHandle socket, SockAddrNl* address, uint* addressLength);
    }
}
