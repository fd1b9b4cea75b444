using Offload.Datapath;

namespace Offload.Kernel.PacketIo;

/// <summary>
/// Takes a batch of received frames into the switch: <see cref="Datapath.Datapath.Process(Span{InputFrame})"/>,
/// <c>VirtualSwitch.Process</c> or <c>OffloadRuntime.Process</c>. The frames' buffers are valid only during the call.
/// </summary>
public delegate void FrameBatchHandler(Span<InputFrame> frames);
