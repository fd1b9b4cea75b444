using System.Runtime.InteropServices;
using Offload.Doca.Native;

internal static partial class Interop
{
    internal static unsafe partial class DocaFlow
    {
        [LibraryImport(Libraries.DocaFlow, EntryPoint = "doca_flow_entries_process")]
        internal static partial int EntriesProcess(DocaFlowPort* port, ushort queue, ulong timeoutMicroseconds, uint maxEntries);
    }
}
