using System.Runtime.InteropServices;
using Offload.Doca.Native;

internal static partial class Interop
{
    internal static unsafe partial class DocaFlow
    {
        [LibraryImport(Libraries.DocaFlow, EntryPoint = "doca_flow_aging_handle")]
        internal static partial int AgingHandle(DocaFlowPort* port, ushort queue, ulong quotaMicroseconds, ulong maxEntries);
    }
}
