using System.Runtime.InteropServices;

internal static partial class Interop
{
    internal static unsafe partial class Libc
    {
        /// <summary>madvise(2) advice asking the kernel to back the range with transparent huge pages.</summary>
        internal const int MadvHugePage = 14;

        [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
        internal static partial int Madvise(void* address, nuint length, int advice);
    }
}
