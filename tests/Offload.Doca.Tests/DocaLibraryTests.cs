using Offload.Doca.Native;
using Offload.Doca.Tests.Emulator;
using Offload.Doca.Tests.Flow;

namespace Offload.Doca.Tests;

[Collection(EmulatorCollection.Name)]
public sealed class DocaLibraryTests(EmulatorFixture fixture)
{
    [Fact]
    public void IsSupported_WithEmulator_ReportsGenerationAndVersion()
    {
        DocaLibrary.IsSupported.Should().BeTrue(DocaLibrary.NotSupportedReason);
        if (fixture.Generation == "b")
        {
            DocaLibrary.Generation.Should().Be(DocaApiGeneration.B);
            DocaLibrary.RuntimeVersion.Should().Be("3.3.0100");
        }
        else
        {
            DocaLibrary.Generation.Should().Be(DocaApiGeneration.A);
            DocaLibrary.RuntimeVersion.Should().Be("3.0.0058");
        }
        EmulatorControl.Generation.Should().Be(fixture.Generation.ToUpperInvariant()[0]);
    }

    [Fact]
    public void Probe_MissingDirectory_ReasonNamesLibraryAndVariable()
    {
        string? reason = DocaLibrary.Probe("/nonexistent/offload-doca").Reason;

        reason.Should().Contain("libdoca_common.so.2").And.Contain(DocaLibrary.NativeDirectoryVariable);
    }

    [Fact]
    public void Probe_DirectoryWithoutShim_ReasonNamesTheShim()
    {
        string dir = Directory.CreateTempSubdirectory("offload-doca-noshim-").FullName;
        try
        {
            foreach (string lib in new[] { "libdoca_common.so.2", "libdoca_flow.so.2" })
                File.CreateSymbolicLink(Path.Combine(dir, lib), Path.Combine(fixture.Directory, lib));

            string? reason = DocaLibrary.Probe(dir).Reason;

            reason.Should().Contain("libofl_doca_shim.so");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void ShimAbi_Sizes_MatchTheCHeader()
    {
        // The C side asserts the same numbers with _Static_assert.
        ShimAbi.ExpectedSizes().Should().Equal(48u, 56u, 128u, 184u, 64u, 360u, 40u);
    }

    [Fact]
    public void NativeBuild_GenerationDirectories_HoldDocaAndShim()
    {
        foreach (string gen in NativeBuild.Generations)
        {
            string dir = NativeBuild.Result.GenerationDirectory(gen);
            File.Exists(Path.Combine(dir, "libdoca_flow.so.2")).Should().BeTrue();
            File.Exists(Path.Combine(dir, "libdoca_common.so.2")).Should().BeTrue();
            File.Exists(Path.Combine(dir, "libofl_doca_shim.so")).Should().BeTrue();
        }
    }
}
