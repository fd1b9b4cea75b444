using System.Runtime.InteropServices;
using Offload.Doca.Native;

internal static partial class Interop
{
    internal static unsafe partial class DocaCommon
    {
        [LibraryImport(Libraries.DocaCommon, EntryPoint = "doca_version_runtime")]
        internal static partial byte* DocaVersionRuntime();
    }
}
