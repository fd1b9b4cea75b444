using System.Runtime.InteropServices;

internal static partial class Interop
{
    internal static partial class Nftables
    {
        [LibraryImport(Libraries.Nftables, EntryPoint = "nft_ctx_output_set_flags")]
        internal static partial void NftCtxOutputSetFlags(Offload.Kernel.Nftables.SafeNftContextHandle context, uint flags);
    }
}
