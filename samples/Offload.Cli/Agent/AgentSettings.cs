namespace Offload.Cli.Agent;

/// <summary>What <c>offload run</c> was asked for, shared by the agent's services.</summary>
internal sealed record AgentSettings(string Socket, TimeSpan PollInterval, string? ReplayCapture);
