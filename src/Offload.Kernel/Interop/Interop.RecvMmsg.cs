using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

internal static partial class Interop
{
    internal static partial class Sys
    {
        [LibraryImport(Libraries.Libc, EntryPoint = "recvmmsg", SetLastError = true)]
        internal static unsafe partial int RecvMmsg(SafeFileHandle socket, MMsgHdr* messages, uint count, int flags, void* timeout);
    }
}
