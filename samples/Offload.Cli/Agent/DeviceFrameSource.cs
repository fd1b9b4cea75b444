using Microsoft.Extensions.Logging;
using Offload.Hosting;
using Offload.Kernel.PacketIo;
using Offload.Switching;

namespace Offload.Cli.Agent;

/// <summary>
/// Device I/O for the agent (<c>offload run --port/--uplink/--devices</c>): binds each port to its interface with the
/// <see cref="PacketPump"/> whose sink the runtime sends through, and runs the pump on a thread of its own until the
/// agent stops. The runtime's housekeeping stays with the hosted service; frames it releases are sent at once.
/// </summary>
internal sealed partial class DeviceFrameSource(PacketPump pump, IReadOnlyList<DeviceBinding> bindings, ILogger<DeviceFrameSource> logger) : IFrameSource
{
    public string Name => $"devices {DeviceBindings.Describe(bindings)}";

    public Task RunAsync(OffloadRuntime runtime, CancellationToken cancellationToken)
    {
        foreach (var binding in bindings)
        {
            ushort port = binding.PortName == PortRegistry.UplinkName ? PortRegistry.Uplink
                : runtime.Ports.TryGet(binding.PortName, out ushort number) ? number
                : throw new InvalidOperationException($"port {binding.PortName} is not a port of the running switch");
            pump.Attach(port, binding.PortName, binding.InterfaceName);
            LogAttached(logger, binding.PortName, binding.InterfaceName, port);
        }
        FrameBatchHandler handler = runtime.Process;
        return Task.Factory.StartNew(() => Pump(handler, runtime, cancellationToken), CancellationToken.None,
            TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    private void Pump(FrameBatchHandler handler, OffloadRuntime runtime, CancellationToken cancellationToken)
    {
        Thread.CurrentThread.Name = "offload-pump";
        try
        {
            pump.Run(handler, cancellationToken);
        }
        catch (InvalidOperationException) when (cancellationToken.IsCancellationRequested || !runtime.IsRunning)
        {
            // The runtime stopped under a batch during shutdown.
        }
        foreach (var s in pump.GetStatistics())
        {
            LogPortSummary(logger, s.PortName, s.InterfaceName, s.ReceivedFrames, s.SentFrames, s.ReceiveErrors + s.SendErrors, s.Oversize, s.KernelDrops);
        }
    }

    [LoggerMessage(EventId = 2401, Level = LogLevel.Information, Message = "port {Port} bound to interface {Interface} (port number {Number})")]
    private static partial void LogAttached(ILogger logger, string port, string @interface, ushort number);

    [LoggerMessage(EventId = 2402, Level = LogLevel.Information,
        Message = "port {Port} ({Interface}): {Received} frames in, {Sent} out, {Errors} errors, {Oversize} oversize, {KernelDrops} dropped by the kernel")]
    private static partial void LogPortSummary(ILogger logger, string port, string @interface, long received, long sent, long errors, long oversize, long kernelDrops);
}
