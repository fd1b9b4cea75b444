using Microsoft.Extensions.Hosting;
using Offload.Datapath;
using Offload.Hosting;
using Offload.Packets;

namespace Offload.MetricsSample;

/// <summary>
/// Every 100 ms: a new UDP connection vm1 → vm4 (blue → red, peered), its reply, and a second packet that takes the
/// fast path, and
/// one SSH attempt inside blue, which the demo policy's ACL denies. Stops the application when the time is up.
/// </summary>
internal sealed class TrafficGenerator(OffloadRuntime runtime, TrafficOptions options, TimeProvider time, IHostApplicationLifetime lifetime) : BackgroundService
{
    private static readonly MacAddress Vm1 = MacAddress.Parse("02:00:00:01:00:01");
    private static readonly MacAddress Vm4 = MacAddress.Parse("02:00:00:02:00:04");
    private static readonly MacAddress Vm2 = MacAddress.Parse("02:00:00:01:00:02");

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        ushort vm1 = runtime.Ports.TryGet("vm1", out var a) ? a : throw new InvalidOperationException("the policy has no local port vm1");
        ushort vm4 = runtime.Ports.TryGet("vm4", out var b) ? b : throw new InvalidOperationException("the policy has no local port vm4");
        var until = time.GetUtcNow() + options.Duration;
        ushort sport = 20000;
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100), time);
        while (time.GetUtcNow() < until && await timer.WaitForNextTickAsync(stoppingToken))
        {
            sport++;
            runtime.Process(
            [
                new InputFrame(PacketBuffer.CopyOf(Frames.Udp(Vm1, Vm4, "10.1.0.1", sport, "10.2.0.4", 53)), vm1),
                new InputFrame(PacketBuffer.CopyOf(Frames.Udp(Vm4, Vm1, "10.2.0.4", 53, "10.1.0.1", sport)), vm4),
                // The demo policy offloads once a connection is established (a reply seen): this one is a fast-path hit.
                new InputFrame(PacketBuffer.CopyOf(Frames.Udp(Vm1, Vm4, "10.1.0.1", sport, "10.2.0.4", 53)), vm1),
                new InputFrame(PacketBuffer.CopyOf(Frames.TcpSyn(Vm1, Vm2, "10.1.0.1", sport, "10.1.0.2", 22)), vm1),
            ]);
        }
        // Let the exporter print the final values once more before the host stops.
        await Task.Delay(TimeSpan.FromSeconds(1.5), stoppingToken);
        lifetime.StopApplication();
    }
}
