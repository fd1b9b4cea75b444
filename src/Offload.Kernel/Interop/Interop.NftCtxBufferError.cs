using System.Runtime.InteropServices;

internal static partial class Interop
{
    internal static partial class Nftables
    {
        [LibraryImport(Libraries.Nftables, EntryPoint = "nft_ctx_buffer_error")]
        internal static partial int NftCtxBufferError(Offload.Kernel.Nftables.SafeNftContextHandle context);
    }
}
