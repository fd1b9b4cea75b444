using System.Runtime.InteropServices;

internal static partial class Interop
{
    internal static partial class Sys
    {
        [LibraryImport(Libraries.Libc, EntryPoint = "setsockopt", SetLastError = true)]
        internal static unsafe partial int SetSockOpt(Offload.Kernel.Netlink.SafeNetlinkHandle socket, int level, int optionName, void* optionValue, uint optionLength);
    }
}
