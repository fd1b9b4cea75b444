using System.Runtime.InteropServices;
using Offload.Doca.Native;

internal static partial class Interop
{
    internal static unsafe partial class DocaFlow
    {
        [LibraryImport(Libraries.DocaFlow, EntryPoint = "doca_flow_cfg_set_pipe_queues")]
        internal static partial int FlowCfgSetPipeQueues(DocaFlowCfg* cfg, ushort pipeQueues);
    }
}
