using System.Runtime.InteropServices;

internal static partial class Interop
{
    internal static partial class Nftables
    {
        [LibraryImport(Libraries.Nftables, EntryPoint = "nft_ctx_get_error_buffer")]
        internal static unsafe partial byte* NftCtxGetErrorBuffer(Offload.Kernel.Nftables.SafeNftContextHandle context);
    }
}
