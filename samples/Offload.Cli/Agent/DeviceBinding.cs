namespace Offload.Cli.Agent;

/// <summary>A switch port bound to a Linux interface by <c>offload run --port NAME=IF</c>, <c>--uplink IF</c> or <c>--devices</c>.</summary>
/// <param name="PortName">The policy's port name, or <c>uplink</c>.</param>
/// <param name="InterfaceName">The interface in the agent's network namespace.</param>
internal sealed record DeviceBinding(string PortName, string InterfaceName);
