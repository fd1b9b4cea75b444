using System.Runtime.InteropServices;

internal static partial class Interop
{
    internal static partial class Nftables
    {
        [LibraryImport(Libraries.Nftables, EntryPoint = "nft_ctx_free")]
        internal static partial void NftCtxFree(nint context);
    }
}
