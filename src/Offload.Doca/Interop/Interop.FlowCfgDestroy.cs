using System.Runtime.InteropServices;
using Offload.Doca.Native;

internal static partial class Interop
{
    internal static unsafe partial class DocaFlow
    {
        [LibraryImport(Libraries.DocaFlow, EntryPoint = "doca_flow_cfg_destroy")]
        internal static partial int FlowCfgDestroy(DocaFlowCfg* cfg);
    }
}
