using System.Runtime.InteropServices;
using Offload.Doca.Native;

internal static partial class Interop
{
    internal static unsafe partial class DocaFlow
    {
        [LibraryImport(Libraries.DocaFlow, EntryPoint = "doca_flow_cfg_set_cb_entry_process")]
        internal static partial int FlowCfgSetCbEntryProcess(DocaFlowCfg* cfg, delegate* unmanaged[Cdecl]<DocaFlowPipeEntry*, ushort, int, int, void*, void> callback);
    }
}
