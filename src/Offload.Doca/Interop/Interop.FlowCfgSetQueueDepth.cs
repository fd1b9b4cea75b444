using System.Runtime.InteropServices;
using Offload.Doca.Native;

internal static partial class Interop
{
    internal static unsafe partial class DocaFlow
    {
        [LibraryImport(Libraries.DocaFlow, EntryPoint = "doca_flow_cfg_set_queue_depth")]
        internal static partial int FlowCfgSetQueueDepth(DocaFlowCfg* cfg, uint queueDepth);
    }
}
