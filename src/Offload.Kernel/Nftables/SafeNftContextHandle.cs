using System.Runtime.InteropServices;

namespace Offload.Kernel.Nftables;

/// <summary>Owns a libnftables <c>struct nft_ctx</c>.</summary>
public sealed class SafeNftContextHandle : SafeHandle
{
    /// <summary>Creates an invalid handle (used by the interop marshaller).</summary>
    public SafeNftContextHandle() : base(0, ownsHandle: true)
    {
    }

    /// <inheritdoc />
    public override bool IsInvalid => handle == 0;

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        Interop.Nftables.NftCtxFree(handle);
        return true;
    }
}
