using Offload.Hosting;

namespace Offload.Tests.Hosting;

public class OffloadRuntimeStartFailureTests
{
    [Fact]
    public async Task StartAsync_DocaFactoryThrows_FailsWithStartupExceptionKeepingTheCause()
    {
        var bed = HostingTestBed.Build(o => o.Backend = OffloadBackendKind.Doca, b => b.AddBackendFactory(new ThrowingDocaFactory()));

        var act = () => bed.Host.StartAsync();

        var thrown = (await act.Should().ThrowAsync<OffloadStartupException>()).Which;
        thrown.Message.Should().Be("start-up failed: doca_flow_init: DOCA_ERROR_DRIVER (-9)");
        thrown.InnerException.Should().BeOfType<DllNotFoundException>();
        bed.Runtime.IsRunning.Should().BeFalse();
        bed.Host.Dispose();
    }

    [Fact]
    public async Task StartAsync_AutoFactoryThrows_FallsBackToSoftware()
    {
        await using var bed = await HostingTestBed.StartAsync(o => o.Backend = OffloadBackendKind.Auto,
            b => b.AddBackendFactory(new ThrowingDocaFactory()));

        bed.Runtime.BackendName.Should().Be("software");
        bed.Logs.GetSnapshot().Should().Contain(r => r.Id.Id == 3001 && r.Message.Contains("DOCA_ERROR_DRIVER"));
    }

    private sealed class ThrowingDocaFactory : IOffloadBackendFactory
    {
        public string Name => "doca";

        public string? NotSupportedReason => null;

        public Offload.Backends.FlowBackend Create(OffloadComponentContext context) =>
            throw new DllNotFoundException("doca_flow_init: DOCA_ERROR_DRIVER (-9)");
    }
}
