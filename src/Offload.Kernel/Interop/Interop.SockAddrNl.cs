using System.Runtime.InteropServices;

internal static partial class Interop
{
    internal static partial class Sys
    {
        /// <summary>struct sockaddr_nl (12 bytes).</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct SockAddrNl
        {
            internal ushort Family;
            internal ushort Pad;
            internal uint PortId;
            internal uint Groups;
        }
    }
}
