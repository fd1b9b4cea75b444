using System.Runtime.InteropServices;

internal static partial class Interop
{
    internal static partial class Sys
    {
        [LibraryImport(Libraries.Libc, EntryPoint = "sendto", SetLastError = true)]
        internal static unsafe partial nint SendTo(Offload.Kernel.Netlink.SafeNetlinkHandle socket, byte* buffer, nuint length, int flags, SockAddrNl* destination, uint destinationLength);
    }
}
