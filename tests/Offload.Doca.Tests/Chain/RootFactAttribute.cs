namespace Offload.Doca.Tests.Chain;

/// <summary>A fact that needs root (it builds private network namespaces); skipped with one reason otherwise.</summary>
public sealed class RootFactAttribute : FactAttribute
{
    /// <summary>Sets <see cref="FactAttribute.Skip"/> when the process is not root on Linux.</summary>
    public RootFactAttribute()
    {
        if (!OperatingSystem.IsLinux())
            Skip = "needs Linux (network namespaces)";
        else if (!Environment.IsPrivilegedProcess)
            Skip = "needs root (network namespaces)";
    }
}
