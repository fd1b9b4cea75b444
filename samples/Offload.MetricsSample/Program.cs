// Hosts the Offload switch with the demo policy, sends generated traffic through it, and prints the Offload meter's
// instruments with the OpenTelemetry console exporter every second. Usage: [policy.yaml] [--seconds N]
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Offload.Hosting;
using Offload.MetricsSample;
using OpenTelemetry.Metrics;

string policy = args.Length > 0 && !args[0].StartsWith("--", StringComparison.Ordinal)
    ? args[0]
    : Path.Combine(AppContext.BaseDirectory, "demo-policy.yaml");
int seconds = Array.IndexOf(args, "--seconds") is var i and >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], out var s) ? s : 3;

var builder = Host.CreateApplicationBuilder();
builder.Logging.SetMinimumLevel(LogLevel.Information);
builder.Services.AddOffload(o => o.PolicyFile = policy);
builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
    .AddMeter(OffloadMetrics.MeterName)
    .AddConsoleExporter((_, reader) => reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = 1000));
builder.Services.AddSingleton(new TrafficOptions(TimeSpan.FromSeconds(seconds)));
builder.Services.AddHostedService<TrafficGenerator>();

using var host = builder.Build();
await host.RunAsync();
