using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Offload.Kernel.Tests.Hosts;
using Offload.Packets;

namespace Offload.Kernel.Tests.EndToEnd;

/// <summary>
/// A TCP transfer in phases the test can look between: connected (the handshake done), then the payload sent and all
/// of it read by the server, then the close, after which the server reports the SHA-256 of what it read.
/// </summary>
internal sealed class PhasedTcp : IDisposable
{
    /// <summary>How long any one step may take. Generous: under a loaded CI run a first packet may time out in the slow path
    /// (1 s) and only TCP's retransmissions (after 1, 3, 7 s) get it through.</summary>
    internal const int TimeoutMs = 15000;
    private readonly Socket[] _listeners;
    private readonly Socket _client;
    private readonly Task<byte[]> _server;
    private readonly IncrementalHash _sent = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly ManualResetEventSlim _accepted = new();
    private long _received;

    /// <summary>Listens on <paramref name="listenAddress"/>:<paramref name="listenPort"/> in <paramref name="server"/> and connects from <paramref name="client"/> to <paramref name="target"/>:<paramref name="targetPort"/>.</summary>
    public PhasedTcp(TestNode server, NetAddress listenAddress, int listenPort, TestNode client, NetAddress target, int targetPort)
        : this([server], listenPort, client, target, targetPort)
    {
    }

    /// <summary>Listens on <paramref name="listenPort"/> at every server's address and connects from <paramref name="client"/>; one of them accepts (a VIP's backends).</summary>
    public PhasedTcp(IReadOnlyList<TestNode> servers, int listenPort, TestNode client, NetAddress target, int targetPort)
    {
        _listeners = new Socket[servers.Count];
        for (int i = 0; i < servers.Count; i++)
        {
            var bind = new IPEndPoint(servers[i].Address.ToIPAddress(), listenPort);
            _listeners[i] = servers[i].Run(() =>
            {
                var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                s.Bind(bind);
                s.Listen(1);
                return s;
            });
        }
        _server = Task.Run(() =>
        {
            var ready = new List<Socket>(_listeners);
            Socket.Select(ready, null, null, TimeoutMs * 1000);
            if (ready.Count == 0)
                throw new TimeoutException("no server accepted");
            AcceptedBy = Array.IndexOf(_listeners, ready[0]);
            using Socket connection = ready[0].Accept();
            Peer = (IPEndPoint)connection.RemoteEndPoint!;
            _accepted.Set();
            connection.ReceiveTimeout = TimeoutMs;
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[64 * 1024];
            int n;
            while ((n = connection.Receive(buffer)) > 0)
            {
                hash.AppendData(buffer, 0, n);
                Interlocked.Add(ref _received, n);
            }
            byte[] digest = hash.GetHashAndReset();
            connection.Send(digest);
            connection.Shutdown(SocketShutdown.Send);
            return digest;
        });
        Target = new IPEndPoint(target.ToIPAddress(), targetPort);
        _client = client.Run(() => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        _client.ReceiveTimeout = TimeoutMs;
        _client.SendTimeout = TimeoutMs;
        var connect = _client.ConnectAsync(new IPEndPoint(target.ToIPAddress(), targetPort));
        if (!connect.Wait(TimeoutMs))
            throw new TimeoutException("the TCP connection was not established");
        // The server must have accepted before the test looks at the kernel, so the handshake's last ACK has passed.
        if (!_accepted.Wait(TimeoutMs))
            throw new TimeoutException("the server did not accept");
    }

    /// <summary>Where the client connected to (a VIP, a server's address).</summary>
    public IPEndPoint Target { get; }

    /// <summary>The client's address and port as the server saw them.</summary>
    public IPEndPoint? Peer { get; private set; }

    /// <summary>Which of the servers accepted the connection.</summary>
    public int AcceptedBy { get; private set; } = -1;

    /// <summary>Whether <paramref name="client"/> can connect to a server listening in <paramref name="server"/> within <paramref name="limit"/>.</summary>
    public static bool TryConnect(TestNode server, NetAddress address, int port, TestNode client, TimeSpan limit)
    {
        var endpoint = new IPEndPoint(address.ToIPAddress(), port);
        using Socket listener = server.Run(() =>
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            s.Bind(endpoint);
            s.Listen(1);
            return s;
        });
        using Socket socket = client.Run(() => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        try
        {
            return socket.ConnectAsync(endpoint).Wait(limit);
        }
        catch (AggregateException)
        {
            return false;
        }
    }

    /// <summary>Bytes the server has read so far.</summary>
    public long Received => Interlocked.Read(ref _received);

    /// <summary>The client's local endpoint (the connection's source port).</summary>
    public IPEndPoint Local => (IPEndPoint)_client.LocalEndPoint!;

    /// <summary>Sends <paramref name="bytes"/> random bytes and waits until the server has read them all.</summary>
    public void Send(int bytes)
    {
        var payload = new byte[bytes];
        Random.Shared.NextBytes(payload);
        _sent.AppendData(payload);
        long target = Received + bytes;
        _client.Send(payload);
        if (!SpinWait.SpinUntil(() => Received >= target, TimeoutMs))
            throw new TimeoutException($"the server read {Received} of {target} bytes");
    }

    /// <summary>Half-closes, reads the server's digest and says whether it equals that of everything sent.</summary>
    public bool CloseAndVerify()
    {
        _client.Shutdown(SocketShutdown.Send);
        var reported = new byte[32];
        int got = 0;
        while (got < 32)
        {
            int n = _client.Receive(reported, got, 32 - got, SocketFlags.None);
            if (n == 0)
                break;
            got += n;
        }
        if (!_server.Wait(TimeoutMs))
            throw new TimeoutException("the TCP server did not finish");
        return got == 32 && reported.AsSpan().SequenceEqual(_sent.GetHashAndReset()) && _server.Result.AsSpan().SequenceEqual(reported);
    }

    public void Dispose()
    {
        _client.Dispose();
        foreach (Socket listener in _listeners)
            listener.Dispose();
        _sent.Dispose();
        _accepted.Dispose();
    }
}
