using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;
using Offload.Kernel.Namespaces;

namespace Offload.Kernel.Tests.PacketIo;

/// <summary>
/// Turns off a VM vNIC's transmit checksum offload (and with it TSO) through the SIOCETHTOOL ioctl, as
/// <c>ethtool -K eth0 tx off</c> would (the tool is not installed here): a packet socket on the host end sees frames
/// as the VM handed them over, so they must carry finished checksums and no segmentation-offload super-frames.
/// </summary>
internal static class VnicOffloads
{
    private const int AfInet = 2, SockDgram = 2;
    private const nuint SiocEthtool = 0x8946;
    private const uint EthtoolSetTxChecksum = 0x17;

    public static unsafe void DisableTransmitChecksum(NetworkNamespace ns, string interfaceName)
    {
        int result = ns.Run(() =>
        {
            int fd = Interop.Sys.Socket(AfInet, SockDgram, 0);
            if (fd < 0)
                return Marshal.GetLastPInvokeError();
            using var handle = new SafeFileHandle(fd, ownsHandle: true);
            // struct ethtool_value { u32 cmd; u32 data; }; struct ifreq { char name[16]; void* data; ... } (40 bytes).
            uint* value = stackalloc uint[2];
            value[0] = EthtoolSetTxChecksum;
            value[1] = 0;
            byte* request = stackalloc byte[40];
            new Span<byte>(request, 40).Clear();
            Encoding.ASCII.GetBytes(interfaceName, new Span<byte>(request, 15));
            *(uint**)(request + 16) = value;
            return Interop.Sys.Ioctl(handle, SiocEthtool, request) == 0 ? 0 : Marshal.GetLastPInvokeError();
        });
        if (result != 0)
            throw new IOException($"SIOCETHTOOL(ETHTOOL_STXCSUM) on {interfaceName} failed: errno {result}");
    }
}
