using Offload.Kernel.Nftables;

namespace Offload.Cli.Demo;

/// <summary>Whether this process can run the demo on the kernel slow path, and if not, why (one short phrase).</summary>
internal static class DemoKernelSupport
{
    /// <summary>Null when root, network namespaces, TAP devices and libnftables are all there; else what is missing.</summary>
    public static string? NotSupportedReason()
    {
        if (!OperatingSystem.IsLinux())
            return "kernel slow path needs Linux";
        if (!Environment.IsPrivilegedProcess)
            return "kernel slow path needs root";
        if (!File.Exists("/proc/self/ns/net"))
            return "kernel slow path needs network namespaces";
        // Named namespaces are made and removed by iproute2's ip (NetworkNamespace.Create), as `ip netns` does.
        if (FindOnPath("ip") is null)
            return "kernel slow path needs the ip tool (iproute2) for network namespaces";
        if (!File.Exists("/dev/net/tun"))
            return "kernel slow path needs /dev/net/tun for its emulated NICs";
        if (NftablesLibrary.NotSupportedReason is { } nft)
            return "kernel slow path needs nftables: " + nft;
        return null;
    }

    private static string? FindOnPath(string tool)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin").Split(':'))
        {
            if (dir.Length == 0)
                continue;
            string path = Path.Combine(dir, tool);
            if (File.Exists(path))
                return path;
        }
        return null;
    }
}
