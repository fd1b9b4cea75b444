using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Offload.Cli.Agent;

/// <summary>
/// The agent's control endpoint: a Unix-domain socket (mode 0600, in a folder created 0750 when missing) that
/// accepts only root and the agent's own user (SO_PEERCRED), and answers <see cref="ControlProtocol"/> requests
/// through <see cref="AgentCommands"/>. A bad request, a slow or vanished client, or a failing command is answered
/// or dropped on its own; the agent goes on.
/// </summary>
internal sealed partial class ControlServer(AgentSettings settings, AgentCommands commands, ILogger<ControlServer> logger) : IHostedService, IDisposable
{
    private const int MaxConnections = 16;
    private readonly SemaphoreSlim _slots = new(MaxConnections, MaxConnections);
    private readonly CancellationTokenSource _stopping = new();
    private Socket? _listener;
    private Task? _accepting;
    private uint _ownUid;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (OperatingSystem.IsWindows())
            throw new PlatformNotSupportedException("the agent's control socket needs Linux (Unix-domain socket credentials and file modes)");
        string path = settings.Socket;
        string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null && !Directory.Exists(folder))
        {
            Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
                UnixFileMode.GroupRead | UnixFileMode.GroupExecute);
        }
        RemoveStale(path);
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            listener.Bind(new UnixDomainSocketEndPoint(path));
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            listener.Listen(MaxConnections);
        }
        catch (SocketException ex)
        {
            listener.Dispose();
            throw new InvalidOperationException($"cannot listen on {path}: {ex.Message}", ex);
        }
        _ownUid = PeerCredentials.EffectiveUid();
        _listener = listener;
        _accepting = AcceptLoopAsync(listener, _stopping.Token);
        LogListening(logger, path);
        return Task.CompletedTask;
    }

    // A socket file left by an agent that died is replaced; one with an agent behind it is not.
    private static void RemoveStale(string path)
    {
        if (!File.Exists(path))
            return;
        using (var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            try
            {
                probe.Connect(new UnixDomainSocketEndPoint(path));
                throw new InvalidOperationException($"another agent is listening on {path}");
            }
            catch (SocketException)
            {
                // Nobody there.
            }
        }
        if (new FileInfo(path).Length != 0)
            throw new InvalidOperationException($"{path} exists and is not a socket");
        File.Delete(path);
    }

    private async Task AcceptLoopAsync(Socket listener, CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException ex)
            {
                LogAcceptFailed(logger, ex.Message);
                await Task.Delay(100, CancellationToken.None).ConfigureAwait(false);
                continue;
            }
            _ = ServeAsync(client, stopping);
        }
    }

    private async Task ServeAsync(Socket client, CancellationToken stopping)
    {
        using var _ = client;
        await using var stream = new NetworkStream(client, ownsSocket: false);
        try
        {
            uint? uid = PeerCredentials.PeerUid(client);
            if (uid is not { } peer || (peer != 0 && peer != _ownUid))
            {
                LogPeerRejected(logger, uid?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unknown");
                await stream.WriteAsync(ControlProtocol.Failure("forbidden", $"uid {uid} may not control this agent (root or uid {_ownUid} only)"), stopping).ConfigureAwait(false);
                return;
            }
            if (!_slots.Wait(0, CancellationToken.None))
            {
                await stream.WriteAsync(ControlProtocol.Failure("busy", $"the agent already serves {MaxConnections} connections; try again"), stopping).ConfigureAwait(false);
                return;
            }
            try
            {
                await ConverseAsync(stream, stopping).ConfigureAwait(false);
            }
            finally
            {
                _slots.Release();
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The client went away or the agent is stopping: nothing to answer.
        }
        catch (Exception ex)
        {
            // Whatever a connection does, the agent goes on.
            LogConnectionFailed(logger, ex);
        }
    }

    private async Task ConverseAsync(NetworkStream stream, CancellationToken stopping)
    {
        var reader = new LineReader(stream, ControlProtocol.MaxRequestBytes);
        while (true)
        {
            byte[]? line;
            using (var wait = CancellationTokenSource.CreateLinkedTokenSource(stopping))
            {
                wait.CancelAfter(ControlProtocol.RequestTimeout);
                try
                {
                    line = await reader.ReadLineAsync(wait.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
                {
                    await stream.WriteAsync(ControlProtocol.Failure("timeout", $"no complete request within {ControlProtocol.RequestTimeout.TotalSeconds:F0} s"), stopping).ConfigureAwait(false);
                    return;
                }
                catch (InvalidDataException ex)
                {
                    await stream.WriteAsync(ControlProtocol.Failure("too-large", ex.Message), stopping).ConfigureAwait(false);
                    return;
                }
            }
            if (line is null)
                return;
            byte[] reply = await commands.HandleAsync(line, stopping).ConfigureAwait(false);
            await stream.WriteAsync(reply, stopping).ConfigureAwait(false);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener?.Dispose();
        if (_accepting is not null)
            await _accepting.ConfigureAwait(false);
        try
        {
            File.Delete(settings.Socket);
        }
        catch (IOException)
        {
            // Left behind: the next agent replaces a stale socket.
        }
    }

    public void Dispose()
    {
        _listener?.Dispose();
        _stopping.Dispose();
        _slots.Dispose();
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "control socket listening on {Path}")]
    private static partial void LogListening(ILogger logger, string path);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "control connection refused: peer uid {Uid} is neither root nor the agent's user")]
    private static partial void LogPeerRejected(ILogger logger, string uid);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "control socket accept failed: {Reason}")]
    private static partial void LogAcceptFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Error, Message = "control connection failed")]
    private static partial void LogConnectionFailed(ILogger logger, Exception exception);
}
