using System.Runtime.InteropServices;
using Offload.Doca.Native;

internal static partial class Interop
{
    internal static unsafe partial class Shim
    {
        [LibraryImport(Libraries.Shim, EntryPoint = "ofl_ct_entry_update")]
        internal static partial int CtEntryUpdate(DocaFlowPipe* pipe, ushort queue, DocaFlowPipeEntry* entry, OflCtSpec* spec);
    }
}
