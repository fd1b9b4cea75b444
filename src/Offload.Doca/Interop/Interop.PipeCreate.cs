using System.Runtime.InteropServices;
using Offload.Doca.Native;

internal static partial class Interop
{
    internal static unsafe partial class Shim
    {
        [LibraryImport(Libraries.Shim, EntryPoint = "ofl_pipe_create")]
        internal static partial int PipeCreate(DocaFlowPort* port, OflPipeSpec* spec, DocaFlowPipe** pipe);
    }
}
