namespace Offload.Cli.Agent;

/// <summary>
/// "cloning … 3 s" on stderr while a long operation runs — only when stderr is a terminal, so logs and pipes
/// stay clean.
/// </summary>
internal sealed class Progress : IDisposable
{
    private readonly string _what;
    private readonly Timer _timer;
    private readonly long _started = TimeProvider.System.GetTimestamp();
    private readonly Lock _gate = new();
    private bool _done;

    private Progress(string what)
    {
        _what = what;
        Console.Error.Write($"{what} …");
        _timer = new Timer(_ => Tick(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
    }

    /// <summary>A progress line, or null when stderr is not a terminal.</summary>
    public static Progress? Start(string what) => Console.IsErrorRedirected ? null : new Progress(what);

    private void Tick()
    {
        lock (_gate)
        {
            if (!_done)
                Console.Error.Write($"\r{_what} … {TimeProvider.System.GetElapsedTime(_started).TotalSeconds:F0} s");
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _done = true;
            Console.Error.WriteLine($"\r{_what} … done ({TimeProvider.System.GetElapsedTime(_started).TotalSeconds:F1} s)");
        }
        _timer.Dispose();
    }
}
