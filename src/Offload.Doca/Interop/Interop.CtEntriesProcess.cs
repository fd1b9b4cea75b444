using System.Runtime.InteropServices;
using Offload.Doca.Native;

internal static partial class Interop
{
    internal static unsafe partial class DocaFlow
    {
        [LibraryImport(Libraries.DocaFlow, EntryPoint = "doca_flow_ct_entries_process")]
        internal static partial int CtEntriesProcess(DocaFlowPort* port, ushort queue, uint minEntries, uint maxEntries, uint* processed);
    }
}
