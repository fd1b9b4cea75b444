using System.Buffers;
using System.Text.Json;

namespace Offload.Cli.Agent;

/// <summary>
/// The agent's control protocol over its Unix-domain socket: one JSON object per line each way, UTF-8.
/// A request is <c>{"v":1,"cmd":"stats","args":{…}}</c>; the reply is <c>{"v":1,"ok":true,"result":{…}}</c> or
/// <c>{"v":1,"ok":false,"code":"bad-request","error":"…"}</c>. A connection may carry several requests in turn.
/// </summary>
internal static class ControlProtocol
{
    /// <summary>The protocol version spoken; a request naming another is refused with code <c>version</c>.</summary>
    public const int Version = 1;

    /// <summary>Longest request line accepted (a previewed policy document travels inside one).</summary>
    public const int MaxRequestBytes = 1 << 20;

    /// <summary>How long a connection may take to send a complete request.</summary>
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(10);

    /// <summary>How long one command may run (a fetch of a remote repository included).</summary>
    public static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);

    /// <summary>The default socket path.</summary>
    public const string DefaultSocket = "/run/offload/agent.sock";

    public static byte[] Request(string command, Action<Utf8JsonWriter>? args = null) => Line(w =>
    {
        w.WriteStartObject();
        w.WriteNumber("v", Version);
        w.WriteString("cmd", command);
        w.WriteStartObject("args");
        args?.Invoke(w);
        w.WriteEndObject();
        w.WriteEndObject();
    });

    public static byte[] Success(Action<Utf8JsonWriter> result) => Line(w =>
    {
        w.WriteStartObject();
        w.WriteNumber("v", Version);
        w.WriteBoolean("ok", true);
        w.WritePropertyName("result");
        result(w);
        w.WriteEndObject();
    });

    public static byte[] Failure(string code, string message) => Line(w =>
    {
        w.WriteStartObject();
        w.WriteNumber("v", Version);
        w.WriteBoolean("ok", false);
        w.WriteString("code", code);
        w.WriteString("error", message);
        w.WriteEndObject();
    });

    private static byte[] Line(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        // Messages quote names ('stats'); relaxed escaping keeps them readable, and a line is never embedded in HTML.
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            write(w);
        buffer.Write("\n"u8);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Parses one request line; false with the reply's code and message when it is not a valid request.</summary>
    public static bool TryParse(ReadOnlySpan<byte> line, out ControlRequest request, out string code, out string error)
    {
        request = default;
        code = "bad-request";
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(line.ToArray(), new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException ex)
        {
            error = $"the request is not JSON: {ex.Message}";
            return false;
        }
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            error = "the request must be a JSON object";
            return false;
        }
        if (!root.TryGetProperty("v", out var v) || v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int version))
        {
            error = "the request has no protocol version (\"v\")";
            return false;
        }
        if (version != Version)
        {
            code = "version";
            error = $"protocol version {version} is not spoken here (this agent speaks {Version})";
            return false;
        }
        if (!root.TryGetProperty("cmd", out var cmd) || cmd.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(cmd.GetString()))
        {
            error = "the request has no command (\"cmd\")";
            return false;
        }
        JsonElement args = default;
        if (root.TryGetProperty("args", out var a))
        {
            if (a.ValueKind != JsonValueKind.Object)
            {
                error = "\"args\" must be an object";
                return false;
            }
            args = a;
        }
        request = new ControlRequest(cmd.GetString()!, args);
        error = "";
        return true;
    }
}

/// <summary>One parsed request: the command and its arguments (<c>default</c> when none were sent).</summary>
internal readonly record struct ControlRequest(string Command, JsonElement Args)
{
    public string? String(string name) =>
        Args.ValueKind == JsonValueKind.Object && Args.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;

    public bool Bool(string name) =>
        Args.ValueKind == JsonValueKind.Object && Args.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.True;

    public int Int(string name, int fallback) =>
        Args.ValueKind == JsonValueKind.Object && Args.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.Number && p.TryGetInt32(out int n) ? n : fallback;
}
