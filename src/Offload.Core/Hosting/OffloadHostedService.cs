using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Offload.Hosting;

/// <summary>
/// Owns the <see cref="OffloadRuntime"/>'s lifetime in a host: starts it (a failure stops the host's start-up with
/// the reason), drives its housekeeping every <see cref="OffloadOptions.PollInterval"/> on the injected
/// <see cref="TimeProvider"/>'s timer, and stops and disposes it when the host stops.
/// </summary>
public sealed class OffloadHostedService : IHostedService, IAsyncDisposable
{
    private readonly OffloadRuntime _runtime;
    private readonly IOptions<OffloadOptions> _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private ITimer? _timer;

    /// <summary>Creates the service.</summary>
    public OffloadHostedService(OffloadRuntime runtime, IOptions<OffloadOptions> options, TimeProvider timeProvider,
        ILogger<OffloadHostedService>? logger = null)
    {
        _runtime = runtime ?? throw new ArgumentNullException(nameof(runtime));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _time = timeProvider ?? throw new ArgumentNullException(nameof(timeProvider));
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <inheritdoc/>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        _runtime.Start();
        var interval = _options.Value.PollInterval;
        _timer = _time.CreateTimer(static state => ((OffloadHostedService)state!).Tick(), this, interval, interval);
        return Task.CompletedTask;
    }

    private void Tick()
    {
        try
        {
            _runtime.Poll();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A timer callback has no caller to throw to; the next tick retries.
            OffloadLog.PollFailed(_logger, e);
        }
    }

    /// <inheritdoc/>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_timer is { } timer)
        {
            _timer = null;
            await timer.DisposeAsync().ConfigureAwait(false);
        }
        _runtime.Stop();
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (_timer is { } timer)
        {
            _timer = null;
            await timer.DisposeAsync().ConfigureAwait(false);
        }
    }
}
