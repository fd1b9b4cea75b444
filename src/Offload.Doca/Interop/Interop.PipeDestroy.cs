using System.Runtime.InteropServices;
using Offload.Doca.Native;

internal static partial class Interop
{
    internal static unsafe partial class DocaFlow
    {
        [LibraryImport(Libraries.DocaFlow, EntryPoint = "doca_flow_pipe_destroy")]
        internal static partial void PipeDestroy(DocaFlowPipe* pipe);
    }
}
