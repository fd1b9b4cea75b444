using System.Runtime.InteropServices;

internal static partial class Interop
{
    internal static partial class Nftables
    {
        [LibraryImport(Libraries.Nftables, EntryPoint = "nft_run_cmd_from_buffer")]
        internal static unsafe partial int NftRunCmdFromBuffer(Offload.Kernel.Nftables.SafeNftContextHandle context, byte* commandsUtf8);
    }
}
