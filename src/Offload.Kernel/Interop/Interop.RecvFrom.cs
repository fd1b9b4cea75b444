using System.Runtime.InteropServices;

internal static partial class Interop
{
    internal static partial class Sys
    {
        [LibraryImport(Libraries.Libc, EntryPoint = "recvfrom", SetLastError = true)]
        internal static unsafe partial nint RecvFrom(Offload.Kernel.Netlink.SafeNetlinkHandle socket, byte* buffer, nuint length, int flags, SockAddrNl* source, uint* sourceLength);
    }
}
