using System.Runtime.InteropServices;
using Offload.Doca.Native;

internal static partial class Interop
{
    internal static unsafe partial class Shim
    {
        [LibraryImport(Libraries.Shim, EntryPoint = "ofl_ct_entry_add")]
        internal static partial int CtEntryAdd(DocaFlowPipe* pipe, ushort queue, OflCtSpec* spec, void* userContext, DocaFlowPipeEntry** entry);
    }
}
