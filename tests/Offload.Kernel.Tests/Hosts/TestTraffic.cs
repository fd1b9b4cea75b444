using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Offload.Packets;

namespace Offload.Kernel.Tests.Hosts;

/// <summary>
/// TCP and UDP clients and servers for lab nodes. Each socket is created inside its node (the namespace is fixed at
/// creation) and then driven from ordinary threads; payloads are random and checked end to end by SHA-256.
/// </summary>
public static class TestTraffic
{
    private const int TimeoutMs = 5000;

    /// <summary>What a TCP transfer delivered.</summary>
    /// <param name="BytesReceived">Bytes the server read.</param>
    /// <param name="SentHash">SHA-256 of what the client sent.</param>
    /// <param name="ReceivedHash">SHA-256 of what the server read (reported back to the client over the connection).</param>
    public sealed record TcpResult(long BytesReceived, byte[] SentHash, byte[] ReceivedHash)
    {
        /// <summary>Whether every byte arrived unchanged.</summary>
        public bool Intact => SentHash.AsSpan().SequenceEqual(ReceivedHash);
    }

    /// <summary>
    /// A TCP server on <paramref name="serverAddress"/>:<paramref name="port"/> in <paramref name="server"/>; a client in
    /// <paramref name="client"/> sends <paramref name="bytes"/> random bytes and half-closes; the server answers with the
    /// SHA-256 of what it read.
    /// </summary>
    public static TcpResult Tcp(TestNode server, NetAddress serverAddress, TestNode client, int bytes, int port = 5201)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(client);
        var endpoint = new IPEndPoint(serverAddress.ToIPAddress(), port);
        using Socket listener = server.Run(() =>
        {
            var s = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            s.Bind(endpoint);
            s.Listen(1);
            return s;
        });
        long received = 0;
        Task serverSide = Task.Run(() =>
        {
            using Socket connection = listener.Accept();
            connection.ReceiveTimeout = TimeoutMs;
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[64 * 1024];
            int n;
            while ((n = connection.Receive(buffer)) > 0)
            {
                hash.AppendData(buffer, 0, n);
                received += n;
            }
            connection.Send(hash.GetHashAndReset());
            connection.Shutdown(SocketShutdown.Send);
        });

        var payload = new byte[bytes];
        Random.Shared.NextBytes(payload);
        using Socket socket = client.Run(() => new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp));
        socket.ReceiveTimeout = TimeoutMs;
        socket.SendTimeout = TimeoutMs;
        socket.Connect(endpoint);
        socket.Send(payload);
        socket.Shutdown(SocketShutdown.Send);
        var reported = new byte[32];
        int got = 0;
        while (got < 32)
        {
            int n = socket.Receive(reported, got, 32 - got, SocketFlags.None);
            if (n == 0)
                break;
            got += n;
        }
        if (!serverSide.Wait(TimeoutMs))
            throw new TimeoutException("the TCP server did not finish");
        return new TcpResult(received, SHA256.HashData(payload), reported[..got]);
    }

    /// <summary>
    /// A UDP echo server in <paramref name="server"/>; the client in <paramref name="client"/> sends
    /// <paramref name="count"/> datagrams of <paramref name="size"/> random bytes, each ending with the first 8 bytes of
    /// its own SHA-256. The server echoes only datagrams whose checksum holds. Returns how many verified echoes came back.
    /// </summary>
    public static int UdpEcho(TestNode server, NetAddress serverAddress, TestNode client, int count, int size = 512, int port = 5202)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(client);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 16);
        var endpoint = new IPEndPoint(serverAddress.ToIPAddress(), port);
        using Socket echo = server.Run(() =>
        {
            var s = new Socket(endpoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            s.Bind(endpoint);
            return s;
        });
        echo.ReceiveTimeout = TimeoutMs;
        using var stop = new CancellationTokenSource();
        Task serverSide = Task.Run(() =>
        {
            var buffer = new byte[65536];
            EndPoint from = new IPEndPoint(endpoint.AddressFamily == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, 0);
            for (int i = 0; i < count && !stop.IsCancellationRequested; i++)
            {
                int n;
                try
                {
                    n = echo.ReceiveFrom(buffer, ref from);
                }
                catch (SocketException)
                {
                    return;
                }
                if (Verify(buffer.AsSpan(0, n)))
                    echo.SendTo(buffer, 0, n, SocketFlags.None, from);
            }
        });

        using Socket socket = client.Run(() => new Socket(endpoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp));
        socket.ReceiveTimeout = TimeoutMs;
        socket.Connect(endpoint);
        var datagram = new byte[size];
        var reply = new byte[size + 1];
        int verified = 0;
        for (int i = 0; i < count; i++)
        {
            Random.Shared.NextBytes(datagram.AsSpan(0, size - 8));
            SHA256.HashData(datagram.AsSpan(0, size - 8))[..8].CopyTo(datagram.AsSpan(size - 8));
            socket.Send(datagram);
            try
            {
                int n = socket.Receive(reply);
                if (n == size && reply.AsSpan(0, n).SequenceEqual(datagram) && Verify(reply.AsSpan(0, n)))
                    verified++;
            }
            catch (SocketException)
            {
                break;
            }
        }
        stop.Cancel();
        serverSide.Wait(TimeoutMs);
        return verified;
    }

    private static bool Verify(ReadOnlySpan<byte> datagram) =>
        datagram.Length >= 16 && SHA256.HashData(datagram[..^8]).AsSpan(0, 8).SequenceEqual(datagram[^8..]);
}
