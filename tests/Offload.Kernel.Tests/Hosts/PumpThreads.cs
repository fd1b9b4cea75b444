using Offload.Kernel.PacketIo;

namespace Offload.Kernel.Tests.Hosts;

/// <summary>
/// Packet pumps each running on a thread of its own with its switch's housekeeping every 10 ms, as an agent runs them;
/// <see cref="Stop"/> joins them and rethrows what ended any of them early. Can be started again after a stop (an
/// agent restart).
/// </summary>
internal sealed class PumpThreads : IDisposable
{
    private static readonly TimeSpan Housekeeping = TimeSpan.FromMilliseconds(10);
    private readonly List<Thread> _threads = [];
    private readonly List<Exception> _failures = [];
    private CancellationTokenSource _stop = new();

    /// <summary>Runs <paramref name="pump"/> with <paramref name="handler"/> and <paramref name="poll"/> until <see cref="Stop"/>.</summary>
    public void Start(PacketPump pump, FrameBatchHandler handler, Func<int> poll)
    {
        CancellationToken token = _stop.Token;
        var thread = new Thread(() =>
        {
            try
            {
                pump.Run(handler, token, poll, Housekeeping);
            }
            catch (Exception e)
            {
                lock (_failures)
                    _failures.Add(e);
            }
        }) { IsBackground = true, Name = "lab pump" };
        thread.Start();
        _threads.Add(thread);
    }

    /// <summary>Stops and joins every pump thread; throws when one of them failed.</summary>
    public void Stop()
    {
        Join();
        lock (_failures)
        {
            if (_failures.Count > 0)
                throw new AggregateException("a pump failed", _failures);
        }
    }

    private void Join()
    {
        _stop.Cancel();
        foreach (Thread t in _threads)
            t.Join();
        _threads.Clear();
        _stop.Dispose();
        _stop = new CancellationTokenSource();
    }

    /// <summary>Stops the threads without throwing (a test that failed already says why).</summary>
    public void Dispose()
    {
        Join();
        _stop.Dispose();
    }
}
