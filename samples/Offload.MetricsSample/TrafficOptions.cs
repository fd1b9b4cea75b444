namespace Offload.MetricsSample;

/// <summary>How long the sample sends traffic before it stops the application.</summary>
/// <param name="Duration">Sending time.</param>
internal sealed record TrafficOptions(TimeSpan Duration);
