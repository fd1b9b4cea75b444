using System.Runtime.InteropServices;
using Offload.Doca.Native;

internal static partial class Interop
{
    internal static unsafe partial class DocaFlow
    {
        [LibraryImport(Libraries.DocaFlow, EntryPoint = "doca_flow_resource_query_entry")]
        internal static partial int ResourceQueryEntry(DocaFlowPipeEntry* entry, DocaResourceQuery* query);
    }
}
