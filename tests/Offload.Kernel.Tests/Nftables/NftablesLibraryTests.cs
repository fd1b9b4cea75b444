using Offload.Kernel.Nftables;

namespace Offload.Kernel.Tests.Nftables;

public sealed class NftablesLibraryTests
{
    [Fact]
    public void Probe_MissingLibrary_ReasonNamesLibraryAndPackage()
    {
        string? reason = NftablesLibrary.Probe("libofflodoesnotexist.so.7");

        reason.Should().Contain("libofflodoesnotexist.so.7").And.Contain("libnftables1");
    }

    [Fact]
    public void Probe_LibraryWithoutTheEntryPoint_ReasonSaysTooOld()
    {
        // libc loads but exports no nft_* symbol: stands in for an incompatible libnftables.
        NftablesLibrary.Probe("libc.so.6").Should().Contain("nft_run_cmd_from_buffer");
    }
}
