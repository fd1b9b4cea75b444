using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

internal static partial class Interop
{
    internal static partial class Sys
    {
        // ioctl is variadic in C; on the System V x86-64 and AAPCS64 Linux ABIs a pointer third argument is passed the same way either way.
        [LibraryImport(Libraries.Libc, EntryPoint = "ioctl", SetLastError = true)]
        internal static unsafe partial int Ioctl(SafeFileHandle fd, nuint request, void* argument);
    }
}
