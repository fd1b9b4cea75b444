using Offload.Doca.Tests.Emulator;

namespace Offload.Doca.Tests.Flow;

/// <summary>
/// Points the binding at one emulator generation before the first probe: <c>DOCA_EMU_GEN</c>
/// (<c>A</c> or <c>B</c>, default A). A process can load only one libdoca_flow.so.2, so the other
/// generation needs a second run (`DOCA_EMU_GEN=B dotnet test ...`); the C tests cover both every run.
/// </summary>
public sealed class EmulatorFixture
{
    public EmulatorFixture()
    {
        Generation = (Environment.GetEnvironmentVariable("DOCA_EMU_GEN") ?? "a").ToLowerInvariant();
        NativeBuildResult build = NativeBuild.Result.EnsureOk();
        Directory = build.GenerationDirectory(Generation);
        AppContext.SetData(DocaLibrary.NativeDirectorySwitch, Directory);
        DocaLibrary.ThrowIfNotSupported();
    }

    public string Generation { get; }

    public string Directory { get; }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class EmulatorCollection : ICollectionFixture<EmulatorFixture>
{
    public const string Name = "DOCA emulator (process-global native state)";
}
