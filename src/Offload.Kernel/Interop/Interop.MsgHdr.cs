using System.Runtime.InteropServices;

internal static partial class Interop
{
    internal static partial class Sys
    {
        /// <summary>struct msghdr (64-bit layout, 56 bytes).</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal unsafe struct MsgHdr
        {
            internal void* Name;
            internal uint NameLength;
            internal IoVec* IoVectors;
            internal nuint IoVectorCount;
            internal void* Control;
            internal nuint ControlLength;
            internal int Flags;
        }
    }
}
