using System.Runtime.InteropServices;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Offload.Cli.Agent;

/// <summary>
/// Keeps the agent's policy current: checks once at start (so the first status already names the commit in
/// force), then polls (git) and checks on SIGHUP.
/// </summary>
internal sealed partial class PolicyAgentService(AgentPolicy policy, ILogger<PolicyAgentService> logger) : IHostedService, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private PosixSignalRegistration? _hangup;
    private Task? _polling;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await policy.CheckAsync(cancellationToken).ConfigureAwait(false);
        if (!OperatingSystem.IsWindows())
            _hangup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, OnHangup);
        if (policy.PollInterval is { } interval)
            _polling = Task.Run(() => PollAsync(interval, _stopping.Token), CancellationToken.None);
    }

    // The first poll comes one interval after the check at start, not at once.
    private async Task PollAsync(TimeSpan interval, CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
                await policy.CheckAsync(stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    private void OnHangup(PosixSignalContext context)
    {
        // SIGHUP means "re-read the policy", not "terminate".
        context.Cancel = true;
        LogHangup(logger);
        _ = Task.Run(async () =>
        {
            try
            {
                await policy.CheckAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Stopping.
            }
        });
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _hangup?.Dispose();
        _hangup = null;
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_polling is not null)
            await _polling.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public void Dispose()
    {
        _hangup?.Dispose();
        _stopping.Dispose();
    }

    [LoggerMessage(EventId = 2401, Level = LogLevel.Information, Message = "SIGHUP: checking the policy")]
    private static partial void LogHangup(ILogger logger);
}
