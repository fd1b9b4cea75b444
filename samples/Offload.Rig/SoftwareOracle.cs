using System.Runtime.InteropServices;
using Microsoft.Extensions.Time.Testing;
using Offload.Backends.Software;
using Offload.Datapath;
using Offload.Packets;
using Offload.Policy;
using Offload.Switching;

namespace Offload.Rig;

/// <summary>What the software datapath did with one frame: its result and the frame it sent (empty when dropped).</summary>
public sealed record OracleOutput(FrameResult Result, byte[] Frame);

/// <summary>
/// The reference: a <see cref="VirtualSwitch"/> for the policy on a fake clock. Its slow path decides first packets and
/// installs flows in its software backend; its fast path's output for later packets is what the device must reproduce.
/// </summary>
public sealed class SoftwareOracle : IFrameSink, IDisposable
{
    private OracleOutput? _last;
    private long _cookie;

    /// <summary>A fresh switch for <paramref name="policy"/>.</summary>
    public SoftwareOracle(PolicySnapshot policy)
    {
        Clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));
        Switch = new VirtualSwitch(policy, this, options: null, Clock);
    }

    /// <summary>The switch's clock.</summary>
    public FakeTimeProvider Clock { get; }

    /// <summary>The switch under the oracle.</summary>
    public VirtualSwitch Switch { get; }

    /// <summary>The switch's port number for a policy port name (the uplink is <see cref="PortRegistry.Uplink"/>).</summary>
    public ushort Port(string name)
    {
        if (name == PortRegistry.UplinkName)
            return PortRegistry.Uplink;
        return Switch.Ports.TryGet(name, out ushort n) ? n : throw new InvalidOperationException($"policy has no local port {name}");
    }

    /// <summary>Processes one frame from <paramref name="inPort"/> and returns what came out.</summary>
    public OracleOutput Send(ushort inPort, byte[] frame)
    {
        Clock.Advance(TimeSpan.FromMilliseconds(1));
        _last = null;
        var input = new InputFrame(PacketBuffer.CopyOf(frame), inPort, _cookie++);
        Switch.Process(MemoryMarshal.CreateSpan(ref input, 1));
        Switch.Poll();
        return _last ?? throw new InvalidOperationException("the switch produced no result for a frame");
    }

    /// <summary>The flows the software backend holds.</summary>
    public IReadOnlyList<InstalledFlow> Flows => Switch.Backend.Snapshot();

    void IFrameSink.OnFrame(in FrameResult result, ReadOnlySpan<byte> frame) => _last = new OracleOutput(result, frame.ToArray());

    /// <inheritdoc/>
    public void Dispose() => Switch.Dispose();
}
