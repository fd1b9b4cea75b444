using System.Runtime.InteropServices;

namespace Offload.Kernel.Tests.Netns;

/// <summary>A fact that needs root (network namespaces, conntrack, nftables); skipped with one reason otherwise.</summary>
public sealed partial class RootFactAttribute : FactAttribute
{
    /// <summary>Sets <see cref="FactAttribute.Skip"/> when the process is not root.</summary>
    public RootFactAttribute()
    {
        if (!OperatingSystem.IsLinux())
            Skip = "needs Linux (network namespaces)";
        else if (geteuid() != 0)
            Skip = "needs root (network namespaces)";
    }

    [LibraryImport("libc.so.6")]
    private static partial uint geteuid();
}
