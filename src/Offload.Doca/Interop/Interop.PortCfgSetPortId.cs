using System.Runtime.InteropServices;
using Offload.Doca.Native;

internal static partial class Interop
{
    internal static unsafe partial class DocaFlow
    {
        [LibraryImport(Libraries.DocaFlow, EntryPoint = "doca_flow_port_cfg_set_port_id")]
        internal static partial int PortCfgSetPortId(DocaFlowPortCfg* cfg, ushort portId);
    }
}
