using System.Collections.Immutable;
using Offload.Kernel.Nftables;
using Offload.Policy;

namespace Offload.Kernel.Tests.Nftables;

/// <summary>Policies and topologies the nftables tests share.</summary>
internal static class PolicyFixtures
{
    /// <summary>The policy bundled with <c>offload demo</c>.</summary>
    public static PolicySnapshot Demo() => Load(File.ReadAllText(Path.Combine(RepositoryRoot(), "samples", "Offload.Cli", "Demo", "demo-policy.yaml")));

    /// <summary>The demo policy's own interface names, plus a tunnel device per network.</summary>
    public static KernelTopology DemoTopology(PolicySnapshot demo) => KernelTopology.FromPolicy(demo) with
    {
        TunnelInterfaces = ImmutableDictionary.CreateRange(StringComparer.Ordinal,
            [new KeyValuePair<string, string>("blue", "ofl-vx100"), new KeyValuePair<string, string>("red", "ofl-gre200")]),
        LogGroup = 7,
    };

    public static PolicySnapshot Load(string yaml)
    {
        PolicyLoadResult result = PolicyLoader.Load(yaml);
        if (result.Snapshot is null)
            throw new InvalidOperationException("test policy is invalid: " + string.Join("; ", result.Errors.Select(e => e.ToString())));
        return result.Snapshot;
    }

    private static string RepositoryRoot()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Offload.sln")))
            dir = Path.GetDirectoryName(dir);
        return dir ?? throw new InvalidOperationException("Offload.sln not found above " + AppContext.BaseDirectory);
    }
}
