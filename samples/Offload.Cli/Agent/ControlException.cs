namespace Offload.Cli.Agent;

/// <summary>An error the agent answers with instead of a result.</summary>
internal sealed class ControlException(string code, string message) : Exception(message)
{
    public string Code { get; } = code;
}
