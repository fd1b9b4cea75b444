namespace Offload.Doca.Tests.Emulator;

/// <summary>
/// Every C test of the emulator (tests/native/emu-tests), once per API generation, as its own case
/// so CI counts them. Each case runs in its own process: the emulator is process-global state.
/// </summary>
public sealed class EmulatorNativeTests
{
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        NativeBuildResult build = NativeBuild.Result;
        if (build.Error is not null)
        {
            // One case that fails with the build log, instead of an empty (silently passing) theory.
            data.Add("a", "native-build");
            return data;
        }
        foreach (string gen in NativeBuild.Generations)
        {
            (int exit, string output) = NativeBuild.Run(build.Runner, ["--list"], Environment(build, gen));
            if (exit != 0)
            {
                data.Add(gen, "runner-list");
                continue;
            }
            foreach (string name in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                data.Add(gen, name);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void CTest_RunsInGeneration_Passes(string generation, string name)
    {
        NativeBuildResult build = NativeBuild.Result.EnsureOk();

        (int exit, string output) = NativeBuild.Run(build.Runner, ["--run", name], Environment(build, generation));

        exit.Should().Be(0, "emu_tests --run {0} (gen {1}) printed:\n{2}", name, generation, output);
        output.Should().Contain($"PASS {name} (gen {generation.ToUpperInvariant()}");
    }

    [Fact]
    public void Runner_ListsTestsOfEveryGroup()
    {
        NativeBuildResult build = NativeBuild.Result.EnsureOk();

        (int exit, string output) = NativeBuild.Run(build.Runner, ["--list"], Environment(build, "a"));

        exit.Should().Be(0);
        string[] names = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        foreach (string group in new[] { "lifecycle_", "queue_", "aging_", "fault_", "gen_", "ct_", "packet_", "shim_", "thread_" })
            names.Should().Contain(n => n.StartsWith(group, StringComparison.Ordinal), "the {0} group exists", group);
    }

    [Fact]
    public void Runner_UnknownTest_ExitsWithTwo()
    {
        NativeBuildResult build = NativeBuild.Result.EnsureOk();

        (int exit, _) = NativeBuild.Run(build.Runner, ["--run", "no_such_test"], Environment(build, "a"));

        exit.Should().Be(2);
    }

    private static Dictionary<string, string> Environment(NativeBuildResult build, string generation) => new()
    {
        ["LD_LIBRARY_PATH"] = build.GenerationDirectory(generation) + ":" + build.Directory,
    };
}
