using System.Runtime.InteropServices;
using Offload.Doca.Native;

internal static partial class Interop
{
    internal static unsafe partial class DocaFlow
    {
        // The emulator's CT sizing call; see tests/native/README.md for which CT shapes are unverified.
        [LibraryImport(Libraries.DocaFlow, EntryPoint = "doca_flow_ct_cfg_set_nr_entries")]
        internal static partial int CtCfgSetNrEntries(DocaFlowCtCfg* cfg, uint entries);
    }
}
