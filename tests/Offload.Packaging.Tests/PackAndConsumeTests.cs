using System.IO.Compression;
using System.Xml.Linq;

namespace Offload.Tests.Packaging;

/// <summary>
/// Packs Offload.Core, Offload.Kernel and Offload.Doca into a fresh local feed (isolated build output, a version of
/// its own), checks what each package carries, then builds nuget/consumer against that feed (nuget.org for
/// third-party dependencies) and runs it: the packages install, and the API they ship switches frames.
/// </summary>
[Trait("Category", "Packaging")]
public sealed class PackAndConsumeTests : IDisposable
{
    private static readonly string[] Packages = ["Offload.Core", "Offload.Kernel", "Offload.Doca"];

    private readonly string _work = Path.Combine(Path.GetTempPath(), "offload-pack-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly string _version = "0.1.0-ci." + Guid.NewGuid().ToString("N")[..10];

    [Fact]
    public void PackThenConsume_LocalFeed_PackagesInstallAndSwitchFrames()
    {
        string root = RepositoryRoot();
        string feed = Path.Combine(_work, "feed");
        string shim = Path.Combine(_work, "shim", "liboffload_doca.so");
        Directory.CreateDirectory(Path.GetDirectoryName(shim)!);
        File.WriteAllText(shim, "stand-in for the DOCA shim built by the DOCA build");

        foreach (var package in Packages)
        {
            var pack = DotnetCli.Run(root, "pack", Path.Combine(root, "src", package), "-c", "Release", "-nodeReuse:false",
                "--artifacts-path", Path.Combine(_work, "artifacts"), "-o", feed, $"-p:Version={_version}", $"-p:OffloadDocaShim={shim}");
            pack.ExitCode.Should().Be(0, $"dotnet pack {package} succeeds:\n{pack.Output}");
        }

        foreach (var package in Packages)
        {
            File.Exists(Path.Combine(feed, $"{package}.{_version}.snupkg")).Should().BeTrue($"{package} ships a symbol package");
            using var zip = ZipFile.OpenRead(Path.Combine(feed, $"{package}.{_version}.nupkg"));
            var names = zip.Entries.Select(e => e.FullName).ToList();
            names.Should().Contain(["README.md", $"lib/net10.0/{package}.dll", $"lib/net10.0/{package}.xml"]);
            names.Should().NotContain(n => n.Contains("emulator", StringComparison.OrdinalIgnoreCase), "the DOCA Flow emulator is test equipment");
            if (package == "Offload.Doca")
                names.Should().Contain("runtimes/linux-x64/native/liboffload_doca.so");
            else
                names.Should().NotContain(n => n.StartsWith("runtimes/", StringComparison.Ordinal), "only Offload.Doca carries native assets");

            var nuspec = XDocument.Load(zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open());
            var metadata = nuspec.Root!.Elements().Single(e => e.Name.LocalName == "metadata");
            string? Field(string name) => metadata.Elements().SingleOrDefault(e => e.Name.LocalName == name)?.Value;
            Field("license").Should().Be("MIT");
            Field("readme").Should().Be("README.md");
            Field("authors").Should().Be("Offload contributors");
            var repository = metadata.Elements().Single(e => e.Name.LocalName == "repository");
            repository.Attribute("type")!.Value.Should().Be("git");
            repository.Attribute("commit")!.Value.Should().MatchRegex("^[0-9a-f]{40}$", "SourceLink records the commit the package was built from");
        }

        string consumer = Path.Combine(_work, "consumer");
        Directory.CreateDirectory(consumer);
        foreach (var file in Directory.GetFiles(Path.Combine(root, "nuget", "consumer")))
            File.Copy(file, Path.Combine(consumer, Path.GetFileName(file)));
        File.WriteAllText(Path.Combine(consumer, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="local" value="{feed}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" protocolVersion="3" />
              </packageSources>
              <packageSourceMapping>
                <packageSource key="local"><package pattern="Offload.*" /></packageSource>
                <packageSource key="nuget.org"><package pattern="*" /></packageSource>
              </packageSourceMapping>
            </configuration>
            """);

        string output = Path.Combine(_work, "consumer-out");
        var build = DotnetCli.Run(consumer, "build", "-c", "Release", "-nodeReuse:false", "-o", output, $"-p:OffloadVersion={_version}");
        build.ExitCode.Should().Be(0, $"the consumer builds against the packed packages:\n{build.Output}");
        var run = DotnetCli.Run(consumer, Path.Combine(output, "Offload.Consumer.dll"));
        run.ExitCode.Should().Be(0, run.Output);

        run.Output.ReplaceLineEndings("\n").Should().Be("""
            udp vm1->vm2: verdict=Output out=vm2 path=Slow reason=-
            udp vm2->vm1: verdict=Output out=vm1 path=Fast reason=-
            tcp vm1->vm2:22: verdict=Drop out=- path=Slow reason=acl
            stats: frames=3 fast=1 slow=2 connections=1 flows=3
            backend=software slowpath=policy
            kernel-assembly=Offload.Kernel
            doca-assembly=present
            doca-shim=present

            """);
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Offload.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException("Offload.sln not found above " + AppContext.BaseDirectory);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_work, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
        // The run's own version never serves another run: drop it from the global packages folder.
        string global = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (var package in Packages)
        {
            string cached = Path.Combine(global, package.ToLowerInvariant(), _version);
            if (Directory.Exists(cached))
                Directory.Delete(cached, recursive: true);
            string id = Path.GetDirectoryName(cached)!;
            if (Directory.Exists(id) && !Directory.EnumerateFileSystemEntries(id).Any())
                Directory.Delete(id);
        }
    }
}
