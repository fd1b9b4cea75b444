using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Offload.Hosting;

namespace Offload.Cli.Agent;

/// <summary>Runs every registered <see cref="IFrameSource"/>; a source that fails is logged and the agent goes on.</summary>
internal sealed partial class FrameSourceService(IEnumerable<IFrameSource> sources, OffloadRuntime runtime, ILogger<FrameSourceService> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var running = new List<Task>();
        foreach (var source in sources)
            running.Add(RunOneAsync(source, stoppingToken));
        if (running.Count == 0)
            LogNoSource(logger);
        await Task.WhenAll(running).ConfigureAwait(false);
    }

    private async Task RunOneAsync(IFrameSource source, CancellationToken stoppingToken)
    {
        try
        {
            await Task.Yield();
            LogSourceStarted(logger, source.Name);
            await source.RunAsync(runtime, stoppingToken).ConfigureAwait(false);
            LogSourceEnded(logger, source.Name);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
        catch (Exception ex)
        {
            LogSourceFailed(logger, source.Name, ex);
        }
    }

    [LoggerMessage(EventId = 2201, Level = LogLevel.Warning, Message = "no frame source attached (no --port, --uplink, --devices or --replay): the switch serves control requests and policy changes only")]
    private static partial void LogNoSource(ILogger logger);

    [LoggerMessage(EventId = 2202, Level = LogLevel.Information, Message = "frame source {Name} started")]
    private static partial void LogSourceStarted(ILogger logger, string name);

    [LoggerMessage(EventId = 2203, Level = LogLevel.Information, Message = "frame source {Name} ended")]
    private static partial void LogSourceEnded(ILogger logger, string name);

    [LoggerMessage(EventId = 2204, Level = LogLevel.Error, Message = "frame source {Name} failed")]
    private static partial void LogSourceFailed(ILogger logger, string name, Exception exception);
}
