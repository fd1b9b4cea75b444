using System.Reflection;
using System.Runtime.InteropServices;
using Offload.Doca.Native;

namespace Offload.Doca;

/// <summary>
/// Whether DOCA Flow (libdoca_flow, libdoca_common) and our shim can be used here; probed once, lazily.
/// The directory to load from comes from the AppContext switch <see cref="NativeDirectorySwitch"/>
/// (runtimeconfig) or the environment variable <see cref="NativeDirectoryVariable"/>; without either
/// the loader's search path is used. Native libraries load once per process, so the first probe decides.
/// </summary>
public static class DocaLibrary
{
    /// <summary>AppContext data key naming the directory that holds the DOCA libraries and the shim.</summary>
    public const string NativeDirectorySwitch = "Offload.Doca.NativeDirectory";

    /// <summary>Environment variable naming that directory when the AppContext key is not set.</summary>
    public const string NativeDirectoryVariable = "OFFLOAD_DOCA_NATIVE_DIR";

    private static readonly Lazy<DocaProbe> s_probe = new(ProbeAndRegister, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>True when DOCA Flow and the shim loaded and agree on the ABI.</summary>
    public static bool IsSupported => NotSupportedReason is null;

    /// <summary>Why DOCA cannot be used, or null when it can.</summary>
    public static string? NotSupportedReason => s_probe.Value.Reason;

    /// <summary>The entry API generation of the loaded libdoca_flow.</summary>
    public static DocaApiGeneration Generation => s_probe.Value.Generation;

    /// <summary>What <c>doca_version_runtime()</c> returned, e.g. "3.0.0058"; null when not loaded.</summary>
    public static string? RuntimeVersion => s_probe.Value.Version;

    /// <summary>Throws <see cref="PlatformNotSupportedException"/> with the reason when DOCA cannot be used.</summary>
    public static void ThrowIfNotSupported()
    {
        if (NotSupportedReason is string reason)
            throw new PlatformNotSupportedException(reason);
    }

    internal static nint FlowLibraryHandle => s_probe.Value.Flow;

    private static DocaProbe ProbeAndRegister()
    {
        string? dir = AppContext.GetData(NativeDirectorySwitch) as string;
        if (string.IsNullOrEmpty(dir))
            dir = Environment.GetEnvironmentVariable(NativeDirectoryVariable);
        DocaProbe probe = Probe(string.IsNullOrEmpty(dir) ? null : dir);
        if (probe.Reason is null)
        {
            NativeLibrary.SetDllImportResolver(typeof(DocaLibrary).Assembly, (name, _, _) => name switch
            {
                Interop.Libraries.DocaFlow => probe.Flow,
                Interop.Libraries.DocaCommon => probe.Common,
                Interop.Libraries.Shim => probe.Shim,
                _ => 0,
            });
        }
        return probe;
    }

    /// <summary>Loads and checks the libraries from <paramref name="directory"/> (null: the loader's path).</summary>
    internal static unsafe DocaProbe Probe(string? directory)
    {
        if (!OperatingSystem.IsLinux())
            return DocaProbe.Fail("DOCA Flow is supported on Linux only");
        string where = directory is null ? "on the loader path" : $"in {directory}";
        if (!TryLoad(directory, [Interop.Libraries.DocaCommon, "libdoca_common.so"], out nint common))
            return DocaProbe.Fail($"{Interop.Libraries.DocaCommon} not found {where} (DOCA not installed, or set {NativeDirectoryVariable})");
        if (!TryLoad(directory, [Interop.Libraries.DocaFlow, "libdoca_flow.so"], out nint flow))
            return DocaProbe.Fail($"{Interop.Libraries.DocaFlow} not found {where}");
        string?[] shimDirs = [directory, AppContext.BaseDirectory];
        nint shim = 0;
        foreach (string? d in shimDirs)
        {
            if (TryLoad(d, [Interop.Libraries.Shim], out shim))
                break;
        }
        // With a configured directory the shim must come from there (or beside the app), never from
        // elsewhere on the loader path: a shim built against another DOCA would pass the size check.
        if (shim == 0 && (directory is not null || !NativeLibrary.TryLoad(Interop.Libraries.Shim, out shim)))
            return DocaProbe.Fail($"{Interop.Libraries.Shim} (Offload's DOCA shim) not found {where} or beside the application");

        DocaApiGeneration gen =
            NativeLibrary.TryGetExport(flow, "doca_flow_pipe_basic_add_entry", out _) ? DocaApiGeneration.B :
            NativeLibrary.TryGetExport(flow, "doca_flow_pipe_add_entry", out _) ? DocaApiGeneration.A :
            DocaApiGeneration.Unknown;
        if (gen == DocaApiGeneration.Unknown)
            return DocaProbe.Fail($"{Interop.Libraries.DocaFlow} exports neither doca_flow_pipe_add_entry nor doca_flow_pipe_basic_add_entry");
        if (!NativeLibrary.TryGetExport(common, "doca_version_runtime", out nint versionFn))
            return DocaProbe.Fail($"{Interop.Libraries.DocaCommon} has no doca_version_runtime");
        string? version = Marshal.PtrToStringUTF8((nint)((delegate* unmanaged[Cdecl]<byte*>)versionFn)());

        string? abiProblem = CheckShim(shim, gen);
        if (abiProblem is not null)
            return DocaProbe.Fail(abiProblem);
        return new DocaProbe(null, common, flow, shim, gen, version);
    }

    private static bool TryLoad(string? directory, string[] names, out nint handle)
    {
        foreach (string name in names)
        {
            string path = directory is null ? name : Path.Combine(directory, name);
            if (directory is not null && !File.Exists(path))
                continue;
            if (NativeLibrary.TryLoad(path, out handle))
                return true;
        }
        handle = 0;
        return false;
    }

    private static unsafe string? CheckShim(nint shim, DocaApiGeneration gen)
    {
        if (!NativeLibrary.TryGetExport(shim, "ofl_shim_abi_version", out nint versionFn) ||
            !NativeLibrary.TryGetExport(shim, "ofl_shim_struct_sizes", out nint sizesFn) ||
            !NativeLibrary.TryGetExport(shim, "ofl_shim_struct_offsets", out nint offsetsFn) ||
            !NativeLibrary.TryGetExport(shim, "ofl_shim_api_generation", out nint genFn))
            return $"{Interop.Libraries.Shim} lacks the ofl_shim_* self-description";
        uint abi = ((delegate* unmanaged[Cdecl]<uint>)versionFn)();
        if (abi != ShimAbi.Version)
            return $"{Interop.Libraries.Shim} has ABI version {abi}; this Offload.Doca speaks {ShimAbi.Version}";
        uint[] sizes = ShimAbi.ExpectedSizes(), offsets = ShimAbi.ExpectedOffsets();
        uint* got = stackalloc uint[128];
        int n = ((delegate* unmanaged[Cdecl]<uint*, int, int>)sizesFn)(got, 128);
        if (n != sizes.Length)
            return $"{Interop.Libraries.Shim} describes {n} structs, expected {sizes.Length}";
        for (int i = 0; i < n; i++)
        {
            if (got[i] != sizes[i])
                return $"{Interop.Libraries.Shim} struct #{i} is {got[i]} bytes, the binding's is {sizes[i]}";
        }
        n = ((delegate* unmanaged[Cdecl]<uint*, int, int>)offsetsFn)(got, 128);
        if (n != offsets.Length)
            return $"{Interop.Libraries.Shim} describes {n} field offsets, expected {offsets.Length}";
        for (int i = 0; i < n; i++)
        {
            if (got[i] != offsets[i])
                return $"{Interop.Libraries.Shim} field offset #{i} is {got[i]}, the binding's is {offsets[i]}";
        }
        int shimGen = ((delegate* unmanaged[Cdecl]<int>)genFn)();
        if (shimGen != (int)gen)
            return $"{Interop.Libraries.Shim} bound generation {shimGen}, but the loaded libdoca_flow is generation {gen}";
        return null;
    }
}

/// <summary>What a probe found.</summary>
internal sealed record DocaProbe(string? Reason, nint Common, nint Flow, nint Shim, DocaApiGeneration Generation, string? Version)
{
    public static DocaProbe Fail(string reason) => new(reason, 0, 0, 0, DocaApiGeneration.Unknown, null);
}
