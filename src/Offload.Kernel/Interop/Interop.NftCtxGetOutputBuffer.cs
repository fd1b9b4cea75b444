using System.Runtime.InteropServices;

internal static partial class Interop
{
    internal static partial class Nftables
    {
        [LibraryImport(Libraries.Nftables, EntryPoint = "nft_ctx_get_output_buffer")]
        internal static unsafe partial byte* NftCtxGetOutputBuffer(Offload.Kernel.Nftables.SafeNftContextHandle context);
    }
}
