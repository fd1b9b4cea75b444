using System.Runtime.InteropServices;
using Offload.Doca.Native;

internal static partial class Interop
{
    internal static unsafe partial class Shim
    {
        [LibraryImport(Libraries.Shim, EntryPoint = "ofl_entry_remove")]
        internal static partial int EntryRemove(ushort queue, DocaFlowPipeEntry* entry, uint submitFlags);
    }
}
