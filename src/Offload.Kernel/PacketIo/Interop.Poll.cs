using System.Runtime.InteropServices;

// Kept beside the packet pump, its only user, rather than in Interop/: one native function per file all the same.
internal static partial class Interop
{
    internal static partial class Sys
    {
        internal const short PollIn = 0x1, PollErr = 0x8, PollHup = 0x10, PollNval = 0x20;

        /// <summary>struct pollfd.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct PollFd
        {
            public int Fd;
            public short Events;
            public short ReturnedEvents;
        }

        [LibraryImport(Libraries.Libc, EntryPoint = "poll", SetLastError = true)]
        internal static unsafe partial int Poll(PollFd* fds, nuint count, int timeoutMilliseconds);
    }
}
