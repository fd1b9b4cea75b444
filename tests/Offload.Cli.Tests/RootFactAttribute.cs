using System.Runtime.InteropServices;

namespace Offload.Cli.Tests;

/// <summary>A fact that needs root on Linux (network namespaces, packet sockets); skipped with one reason otherwise.</summary>
public sealed partial class RootFactAttribute : FactAttribute
{
    public RootFactAttribute()
    {
        if (!OperatingSystem.IsLinux())
            Skip = "needs Linux (network namespaces)";
        else if (geteuid() != 0)
            Skip = "needs root (network namespaces, packet sockets)";
    }

    [LibraryImport("libc.so.6")]
    private static partial uint geteuid();
}
