using Offload.Hosting;

namespace Offload.Tests.Hosting;

public class OffloadOptionsValidatorTests
{
    private static OffloadOptionsValidator Validator(IOffloadBackendFactory[]? backends = null, IOffloadSlowPathFactory[]? slowPaths = null) =>
        new(backends ?? [], slowPaths ?? []);

    [Fact]
    public void Validate_DefaultsWithInlinePolicy_Succeeds()
    {
        var result = Validator().Validate(null, new OffloadOptions { Policy = HostingTestBed.Policy() });

        result.Succeeded.Should().BeTrue();
    }

    [Fact]
    public void Validate_SeveralBadValues_ReportsEveryOneNamingItsOption()
    {
        var options = new OffloadOptions
        {
            Policy = HostingTestBed.Policy(),
            PolicyFile = "/etc/offload/policy.yaml",
            FlowCapacity = 0,
            FragmentCapacity = 8,
            PollInterval = TimeSpan.Zero,
            DropFlowIdleTimeout = TimeSpan.FromMilliseconds(10),
            OffloadMinPackets = -1,
            MaxConnections = 0,
        };

        var result = Validator().Validate(null, options);

        result.Failed.Should().BeTrue();
        result.Failures.Should().BeEquivalentTo(
            "Offload:PolicyFile: set exactly one of PolicyFile and Policy.",
            "Offload:FlowCapacity: 0 is less than 1.",
            "Offload:MaxConnections: 0 is less than 1.",
            "Offload:FragmentCapacity: 8 is less than 16.",
            "Offload:OffloadMinPackets: -1 is less than 0.",
            "Offload:PollInterval: 00:00:00 is outside 1 ms to 1 min.",
            "Offload:DropFlowIdleTimeout: 00:00:00.0100000 is shorter than 1 s.");
    }

    [Fact]
    public void Validate_NoPolicy_Fails()
    {
        var result = Validator().Validate(null, new OffloadOptions());

        result.Failures.Should().ContainSingle().Which.Should().Be("Offload:PolicyFile: set exactly one of PolicyFile and Policy.");
    }

    [Fact]
    public void Validate_MissingPolicyFile_FailsNamingIt()
    {
        var result = Validator().Validate(null, new OffloadOptions { PolicyFile = "/nonexistent/offload.yaml" });

        result.Failures.Should().ContainSingle().Which.Should().Be("Offload:PolicyFile: '/nonexistent/offload.yaml' does not exist.");
    }

    [Fact]
    public void Validate_UndefinedEnumValues_Fail()
    {
        var result = Validator().Validate(null, new OffloadOptions
        {
            Policy = HostingTestBed.Policy(), Backend = (OffloadBackendKind)7, SlowPath = (OffloadSlowPathKind)9,
        });

        result.Failures.Should().BeEquivalentTo(
            "Offload:Backend: '7' is not one of software, doca, auto.",
            "Offload:SlowPath: '9' is not one of policy, kernel.");
    }

    [Fact]
    public void Validate_KernelWithoutFactory_Fails()
    {
        var result = Validator().Validate(null, new OffloadOptions { Policy = HostingTestBed.Policy(), SlowPath = OffloadSlowPathKind.Kernel });

        result.Failures.Should().ContainSingle().Which.Should().StartWith("Offload:SlowPath: 'kernel' is selected but no kernel slow path is registered");
    }

    [Fact]
    public void Validate_DocaAndKernelWithFactories_Succeeds()
    {
        var result = Validator([new FakeDocaFactory()], [new PolicyBackedSlowPathFactory()]).Validate(null,
            new OffloadOptions { Policy = HostingTestBed.Policy(), Backend = OffloadBackendKind.Doca, SlowPath = OffloadSlowPathKind.Kernel });

        result.Succeeded.Should().BeTrue();
    }

    [Fact]
    public void Validate_AutoWithoutFactory_SucceedsBecauseItFallsBack()
    {
        var result = Validator().Validate(null, new OffloadOptions { Policy = HostingTestBed.Policy(), Backend = OffloadBackendKind.Auto });

        result.Succeeded.Should().BeTrue();
    }
}
