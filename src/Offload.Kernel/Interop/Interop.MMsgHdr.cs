using System.Runtime.InteropServices;

internal static partial class Interop
{
    internal static partial class Sys
    {
        /// <summary>struct mmsghdr: a message header and the byte count the kernel filled in.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct MMsgHdr
        {
            internal MsgHdr Header;
            internal uint Length;
        }
    }
}
