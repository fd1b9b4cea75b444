namespace Offload.Cli.Agent;

/// <summary>What <c>offload run</c> was asked for, shared by the agent's services.</summary>
/// <param name="Socket">The control socket's path.</param>
/// <param name="PollInterval">How often a policy repository is checked.</param>
/// <param name="ReplayCapture">A capture fed through the switch once at start, or null.</param>
/// <param name="Devices">Ports bound to Linux interfaces (checked already); empty without device I/O.</param>
internal sealed record AgentSettings(string Socket, TimeSpan PollInterval, string? ReplayCapture, IReadOnlyList<DeviceBinding> Devices);
