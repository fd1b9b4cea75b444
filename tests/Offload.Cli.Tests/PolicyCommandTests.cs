using System.Text.Json;

namespace Offload.Cli.Tests;

/// <summary><c>offload policy validate</c> and <c>offload policy schema</c>.</summary>
public sealed class PolicyCommandTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Validate_GoodPolicy_PrintsCountsAndExitsZero()
    {
        var (code, output, err) = OffloadProcess.Run("policy", "validate", _dir.File("p.yaml", TraceCommandTests.Policy));
        code.Should().Be(0, err);
        output.Trim().Should().StartWith("ok: 2 networks, 4 ports (2 on host-a)").And.Contain("1 ACL rules").And.Contain("1 load balancers (1 backends)");
        err.Should().BeEmpty();
    }

    [Fact]
    public void Validate_BadPolicy_ListsEveryErrorWithItsPathAndExitsOne()
    {
        string file = _dir.File("bad.yaml", TraceCommandTests.Policy
            .Replace("ip: 10.1.0.2, port: 8080", "ip: 10.1.255.10, port: 8080", StringComparison.Ordinal)
            .Replace("name: vm3, network: blue", "name: vm3, network: green", StringComparison.Ordinal));
        var (code, output, err) = OffloadProcess.Run("policy", "validate", file);
        code.Should().Be(1);
        output.Should().BeEmpty();
        var lines = err.Trim().Split('\n');
        lines[0].Should().StartWith($"offload: {file} is invalid: ");
        err.Should().Contain("ports[2].network: ").And.Contain("loadBalancers[0].backends[0].ip: ");
        lines.Should().HaveCountGreaterThanOrEqualTo(2);
    }

    [Fact]
    public void Validate_MissingFile_ExitsOneWithOneLine()
    {
        var (code, _, err) = OffloadProcess.Run("policy", "validate", _dir.File("absent.yaml"));
        code.Should().Be(1);
        err.Trim().Split('\n').Should().ContainSingle().Which.Should().StartWith("offload: ").And.Contain("does not exist");
    }

    [Fact]
    public void Schema_PrintsTheJsonSchema()
    {
        var (code, output, _) = OffloadProcess.Run("policy", "schema");
        code.Should().Be(0);
        var schema = JsonDocument.Parse(output).RootElement;
        schema.GetProperty("$schema").GetString().Should().Contain("json-schema.org");
        schema.GetProperty("properties").TryGetProperty("loadBalancers", out _).Should().BeTrue();
    }
}
