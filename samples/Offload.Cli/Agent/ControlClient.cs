using System.CommandLine;
using System.Net.Sockets;
using System.Text.Json;

namespace Offload.Cli.Agent;

/// <summary>Sends one request to a running agent and returns its result; every failure is a <see cref="CliException"/>.</summary>
internal static class ControlClient
{
    private static readonly TimeSpan ReplyTimeout = ControlProtocol.CommandTimeout + TimeSpan.FromSeconds(10);

    public static Option<string> SocketOption() => new("--socket")
    {
        Description = "The agent's control socket.",
        DefaultValueFactory = _ => ControlProtocol.DefaultSocket,
        HelpName = "PATH",
    };

    /// <summary>True when something accepts connections on <paramref name="socket"/>.</summary>
    public static bool IsListening(string socket)
    {
        if (!File.Exists(socket))
            return false;
        using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            s.Connect(new UnixDomainSocketEndPoint(socket));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>The reply's <c>result</c>; an error reply becomes a <see cref="CliException"/> with the agent's message.</summary>
    public static JsonElement Send(string socket, string command, Action<Utf8JsonWriter>? args = null)
    {
        using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            s.Connect(new UnixDomainSocketEndPoint(socket));
        }
        catch (SocketException ex)
        {
            throw new CliException($"no agent at {socket} ({ex.Message}); start one with 'offload run', or give --pcap to replay a capture");
        }
        byte[]? line;
        try
        {
            using var stream = new NetworkStream(s, ownsSocket: false);
            stream.Write(ControlProtocol.Request(command, args));
            using var timeout = new CancellationTokenSource(ReplyTimeout);
            line = new LineReader(stream, 256 << 20).ReadLineAsync(timeout.Token).GetAwaiter().GetResult();
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or InvalidDataException)
        {
            throw new CliException($"the agent at {socket} did not answer '{command}': {ex.Message}");
        }
        if (line is null)
            throw new CliException($"the agent at {socket} closed the connection without answering '{command}'");
        JsonElement reply;
        try
        {
            using var document = JsonDocument.Parse(line);
            reply = document.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            throw new CliException($"the agent at {socket} answered '{command}' with something that is not JSON: {ex.Message}");
        }
        if (reply.TryGetProperty("ok", out var ok) && ok.ValueKind == JsonValueKind.True && reply.TryGetProperty("result", out var result))
            return result;
        string error = reply.TryGetProperty("error", out var e) ? e.GetString() ?? "" : "malformed reply";
        var lines = error.Split('\n');
        throw new CliException($"agent: {lines[0]}", CliException.InvalidInput, lines.Skip(1).ToList());
    }
}
