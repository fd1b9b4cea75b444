using Offload.Kernel.PacketIo;

namespace Offload.Cli.Agent;

/// <summary>The agent's device I/O, for its control commands: the pump when ports are bound to interfaces, else null.</summary>
internal sealed record AgentDevices(PacketPump? Pump);
