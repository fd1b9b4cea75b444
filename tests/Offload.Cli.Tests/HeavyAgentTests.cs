namespace Offload.Cli.Tests;

/// <summary>
/// Tests that start agents next to namespaces or a git server run on their own, after the parallel ones, so they do
/// not stretch the time-sensitive agent fixtures (30 s UDP timeouts) of the other classes on a loaded machine.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HeavyAgentTests
{
    public const string Name = "heavy agent tests";
}
