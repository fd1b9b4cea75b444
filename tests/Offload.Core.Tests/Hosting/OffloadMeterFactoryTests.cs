using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Hosting;
using Offload.Datapath;
using Offload.Hosting;
using Offload.Packets;

namespace Offload.Tests.Hosting;

public class OffloadMeterFactoryTests
{
    [Fact]
    public async Task AddOffload_HostWithMeterFactory_InstrumentsComeFromTheFactorysOffloadMeter()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddMetrics();
        builder.Services.AddOffload(o => o.Policy = HostingTestBed.Policy());
        using var host = builder.Build();
        await host.StartAsync();
        var runtime = host.Services.GetRequiredService<OffloadRuntime>();
        var factory = host.Services.GetRequiredService<IMeterFactory>();
        // What an exporter does: listen by meter name, through the application's meter factory.
        using var collector = new MetricCollector<long>(factory, OffloadMetrics.MeterName, "offload.packets");
        runtime.Ports.TryGet("vm1", out ushort vm1).Should().BeTrue();
        runtime.Process(new[] { new InputFrame(PacketBuffer.CopyOf(HostingTestBed.UdpVm1ToVm5()), vm1) });

        collector.RecordObservableInstruments();

        runtime.Meter.Should().BeSameAs(factory.Create(OffloadMetrics.MeterName));
        collector.GetMeasurementSnapshot().Single(m => Equals(m.Tags["offload.path"], "slow")).Value.Should().Be(1);
        await host.StopAsync();
    }
}
