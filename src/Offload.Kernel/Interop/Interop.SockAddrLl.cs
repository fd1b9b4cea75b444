using System.Runtime.InteropServices;

internal static partial class Interop
{
    internal static partial class Sys
    {
        /// <summary>struct sockaddr_ll (20 bytes).</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal unsafe struct SockAddrLl
        {
            internal ushort Family;
            internal ushort Protocol; // network order
            internal int InterfaceIndex;
            internal ushort HardwareType;
            internal byte PacketType;
            internal byte AddressLength;
            internal fixed byte Address[8];
        }
    }
}
