using System.Runtime.InteropServices;

namespace Offload.Kernel.Nftables;

/// <summary>Whether libnftables (Debian <c>libnftables1</c>) can be used; probed once, lazily.</summary>
public static class NftablesLibrary
{
    private static readonly Lazy<string?> s_notSupportedReason = new(() => Probe(Interop.Libraries.Nftables));

    /// <summary>True when libnftables.so.1 loads.</summary>
    public static bool IsSupported => NotSupportedReason is null;

    /// <summary>Why libnftables cannot be used, or null when it can.</summary>
    public static string? NotSupportedReason => s_notSupportedReason.Value;

    /// <summary>Throws <see cref="PlatformNotSupportedException"/> with the reason when the library is missing.</summary>
    public static void ThrowIfNotSupported()
    {
        if (NotSupportedReason is string reason)
            throw new PlatformNotSupportedException(reason);
    }

    // The versioned soname only: the unversioned libnftables.so exists only with the -dev package and may be another ABI.
    internal static string? Probe(string soname)
    {
        if (!OperatingSystem.IsLinux())
            return "libnftables exists only on Linux";
        if (!NativeLibrary.TryLoad(soname, out nint handle))
            return $"{soname} not found (install the Debian package libnftables1)";
        try
        {
            return NativeLibrary.TryGetExport(handle, "nft_run_cmd_from_buffer", out _)
                ? null
                : $"{soname} has no nft_run_cmd_from_buffer (too old)";
        }
        finally
        {
            NativeLibrary.Free(handle);
        }
    }
}
