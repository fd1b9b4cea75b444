using System.Runtime.InteropServices;
using Offload.Doca.Native;

internal static partial class Interop
{
    internal static unsafe partial class Shim
    {
        [LibraryImport(Libraries.Shim, EntryPoint = "ofl_entry_add")]
        internal static partial int EntryAdd(DocaFlowPipe* pipe, ushort queue, OflEntrySpec* spec, uint submitFlags, void* userContext, DocaFlowPipeEntry** entry);
    }
}
