using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Offload.Tests.Policy.Git;

/// <summary>
/// A real git smart-HTTP server on loopback: <see cref="HttpListener"/> asks for Basic authentication and hands every
/// authenticated request to <c>git http-backend</c> as a CGI program, serving the repositories under one folder.
/// Counts the requests refused with 401. Stopped on dispose.
/// </summary>
internal sealed class GitHttpServer : IDisposable
{
    public const string Backend = "/usr/lib/git-core/git-http-backend";
    private readonly HttpListener _listener = new();
    private readonly string _root;
    private readonly string _user;
    private readonly string _password;
    private readonly Task _serving;
    private int _refused;

    public GitHttpServer(string root, string user, string password)
    {
        _root = root;
        _user = user;
        _password = password;
        Port = FreePort();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _serving = Task.Run(ServeAsync);
    }

    public static bool IsAvailable => File.Exists(Backend);

    public int Port { get; }

    public int Refused => Volatile.Read(ref _refused);

    /// <summary>The URL of repository folder <paramref name="name"/> under the root.</summary>
    public string Url(string name) => $"http://127.0.0.1:{Port}/{name}";

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            _ = Task.Run(() => Handle(context));
        }
    }

    private void Handle(HttpListenerContext context)
    {
        var response = context.Response;
        try
        {
            if (!Authorized(context.Request.Headers["Authorization"]))
            {
                Interlocked.Increment(ref _refused);
                response.StatusCode = 401;
                response.AddHeader("WWW-Authenticate", "Basic realm=\"policy\"");
                response.Close();
                return;
            }
            RunBackend(context);
        }
        catch (Exception ex) when (ex is IOException or HttpListenerException or InvalidOperationException)
        {
            response.Abort();
        }
    }

    private bool Authorized(string? header)
    {
        if (header is null || !header.StartsWith("Basic ", StringComparison.Ordinal))
            return false;
        string decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..]));
        return decoded == $"{_user}:{_password}";
    }

    private void RunBackend(HttpListenerContext context)
    {
        var request = context.Request;
        var start = new ProcessStartInfo(Backend)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["GIT_PROJECT_ROOT"] = _root;
        start.Environment["GIT_HTTP_EXPORT_ALL"] = "1";
        start.Environment["REQUEST_METHOD"] = request.HttpMethod;
        start.Environment["PATH_INFO"] = Uri.UnescapeDataString(request.Url!.AbsolutePath);
        start.Environment["QUERY_STRING"] = request.Url.Query.TrimStart('?');
        start.Environment["CONTENT_TYPE"] = request.ContentType ?? "";
        start.Environment["REMOTE_USER"] = _user;
        start.Environment["REMOTE_ADDR"] = "127.0.0.1";
        if (request.Headers["Content-Encoding"] is { } encoding)
            start.Environment["HTTP_CONTENT_ENCODING"] = encoding;
        if (request.Headers["Git-Protocol"] is { } protocol)
            start.Environment["GIT_PROTOCOL"] = protocol;
        using var backend = Process.Start(start)!;
        var errors = backend.StandardError.ReadToEndAsync();
        var body = new MemoryStream();
        request.InputStream.CopyTo(body);
        backend.StandardInput.BaseStream.Write(body.ToArray());
        backend.StandardInput.Close();
        var output = new MemoryStream();
        backend.StandardOutput.BaseStream.CopyTo(output);
        backend.WaitForExit();
        _ = errors.Result;
        byte[] cgi = output.ToArray();
        int split = IndexOf(cgi, "\r\n\r\n"u8, out int separator);
        var response = context.Response;
        foreach (string line in Encoding.ASCII.GetString(cgi, 0, split).Split(["\r\n", "\n"], StringSplitOptions.RemoveEmptyEntries))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            string name = line[..colon].Trim();
            string value = line[(colon + 1)..].Trim();
            if (name.Equals("Status", StringComparison.OrdinalIgnoreCase))
                response.StatusCode = int.Parse(value.AsSpan(0, 3), System.Globalization.CultureInfo.InvariantCulture);
            else if (name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase))
                response.ContentType = value;
            else if (!name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
                response.AddHeader(name, value);
        }
        response.OutputStream.Write(cgi, split + separator, cgi.Length - split - separator);
        response.Close();
    }

    private static int IndexOf(byte[] data, ReadOnlySpan<byte> crlf, out int separator)
    {
        int i = data.AsSpan().IndexOf(crlf);
        if (i >= 0)
        {
            separator = crlf.Length;
            return i;
        }
        separator = 2;
        i = data.AsSpan().IndexOf("\n\n"u8);
        return i >= 0 ? i : throw new InvalidDataException("git http-backend wrote no header end");
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        _serving.Wait(TimeSpan.FromSeconds(5));
    }
}
