using System.Runtime.InteropServices;

internal static partial class Interop
{
    internal static partial class Nftables
    {
        [LibraryImport(Libraries.Nftables, EntryPoint = "nft_ctx_new")]
        internal static partial Offload.Kernel.Nftables.SafeNftContextHandle NftCtxNew(uint flags);
    }
}
