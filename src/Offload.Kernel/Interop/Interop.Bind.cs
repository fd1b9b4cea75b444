using System.Runtime.InteropServices;

internal static partial class Interop
{
    internal static partial class Sys
    {
        [LibraryImport(Libraries.Libc, EntryPoint = "bind", SetLastError = true)]
        internal static unsafe partial int Bind(Offload.Kernel.Netlink.SafeNetlinkHandle socket, SockAddrNl* address, uint addressLength);
    }
}
