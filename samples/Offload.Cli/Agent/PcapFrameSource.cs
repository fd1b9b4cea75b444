using System.Runtime.InteropServices;
using Offload.Capture;
using Offload.Datapath;
using Offload.Hosting;
using Offload.Packets;
using Offload.Switching;

namespace Offload.Cli.Agent;

/// <summary>
/// Replays a capture into the running switch once, at start (frames take the agent's clock, not the capture's), so
/// the agent has live flows and connections before device I/O exists. Each frame's ingress port is the local port
/// whose MAC sent it, else the uplink when it is addressed to this host's underlay or a public SNAT address.
/// </summary>
internal sealed class PcapFrameSource(string path) : IFrameSource
{
    public string Name => $"replay {path}";

    public Task RunAsync(OffloadRuntime runtime, CancellationToken cancellationToken)
    {
        using var reader = PcapReader.Open(path);
        if (reader.LinkType != PcapFormat.LinkTypeEthernet)
            throw new InvalidDataException($"capture {path} has link type {reader.LinkType}; only Ethernet (1) is supported");
        long index = 0;
        while (!cancellationToken.IsCancellationRequested && reader.TryReadNext(out _, out var data))
        {
            var input = new InputFrame(PacketBuffer.CopyOf(data), IngressPortOf(runtime, data), index++);
            runtime.Process(MemoryMarshal.CreateSpan(ref input, 1));
        }
        runtime.Poll();
        return Task.CompletedTask;
    }

    private static ushort IngressPortOf(OffloadRuntime runtime, ReadOnlySpan<byte> frame)
    {
        var policy = runtime.Policy!;
        if (frame.Length >= 12)
        {
            var src = MacAddress.Read(frame.Slice(6));
            foreach (var port in policy.Ports)
            {
                if (policy.IsLocal(port) && port.Mac == src && runtime.Ports.TryGet(port.Name, out ushort number))
                    return number;
            }
        }
        PacketParser.Parse(frame, out var p);
        if (!p.IsIp)
            return 0;
        bool toUnderlay = p.DstIp == policy.Host.Underlay.Ip && (!p.IsValid || p.Tunnel != TunnelKind.None);
        bool toPublic = false;
        foreach (var snat in policy.Snat)
            toPublic |= snat.PublicIp == p.DstIp;
        return toUnderlay || toPublic ? PortRegistry.Uplink : (ushort)0;
    }
}
