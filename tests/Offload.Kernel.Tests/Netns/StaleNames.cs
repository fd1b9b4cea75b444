using Product = Offload.Kernel.Namespaces.NetworkNamespace;

namespace Offload.Kernel.Tests.Netns;

/// <summary>
/// Test namespaces are named <c>&lt;prefix&gt;&lt;pid&gt;-&lt;n&gt;</c>; one whose process is gone was left by a killed run
/// and is deleted (its devices go with it).
/// </summary>
public static class StaleNames
{
    /// <summary>Deletes the namespaces named <paramref name="prefix"/>&lt;pid&gt;-... whose pid no longer runs; returns how many.</summary>
    public static int Sweep(string prefix)
    {
        int deleted = 0;
        foreach (string name in Product.ListNamed())
        {
            if (!name.StartsWith(prefix, StringComparison.Ordinal))
                continue;
            string rest = name[prefix.Length..];
            int dash = rest.IndexOf('-', StringComparison.Ordinal);
            if (dash > 0 && int.TryParse(rest.AsSpan(0, dash), out int pid) && !ProcessExists(pid) && Product.TryDelete(name))
                deleted++;
        }
        return deleted;
    }

    /// <summary>Whether a process id is running (or is ours).</summary>
    public static bool ProcessExists(int pid) => pid == Environment.ProcessId || Directory.Exists($"/proc/{pid}");
}
