using System.Buffers.Binary;
using System.Globalization;
using System.Net.Sockets;

namespace Offload.Cli.Agent;

/// <summary>Who is on the other end of a Unix-domain socket (SO_PEERCRED), and who this process is.</summary>
internal static class PeerCredentials
{
    private const int SolSocket = 1;
    private const int SoPeerCred = 17;

    /// <summary>The peer's user id; null when the kernel does not say.</summary>
    public static uint? PeerUid(Socket socket)
    {
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
        Span<byte> ucred = stackalloc byte[12];
        try
        {
            int length = socket.GetRawSocketOption(SolSocket, SoPeerCred, ucred);
            return length >= 8 ? BinaryPrimitives.ReadUInt32LittleEndian(ucred[4..]) : null;
        }
        catch (SocketException)
        {
            return null;
        }
    }

    /// <summary>This process's effective user id, from /proc (no interop needed for one number).</summary>
    public static uint EffectiveUid()
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (!line.StartsWith("Uid:", StringComparison.Ordinal))
                continue;
            var fields = line[4..].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            return uint.Parse(fields[1], CultureInfo.InvariantCulture);
        }
        throw new InvalidOperationException("/proc/self/status has no Uid line");
    }
}
