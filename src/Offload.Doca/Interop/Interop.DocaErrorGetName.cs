using System.Runtime.InteropServices;
using Offload.Doca.Native;

internal static partial class Interop
{
    internal static unsafe partial class DocaCommon
    {
        [LibraryImport(Libraries.DocaCommon, EntryPoint = "doca_error_get_name")]
        internal static partial byte* DocaErrorGetName(int error);
    }
}
