using System.Runtime.InteropServices;
using Offload.Doca.Native;

internal static partial class Interop
{
    internal static unsafe partial class Shim
    {
        [LibraryImport(Libraries.Shim, EntryPoint = "ofl_shim_struct_sizes")]
        internal static partial int ShimStructSizes(uint* sizes, int capacity);
    }
}
