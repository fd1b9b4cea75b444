namespace Offload.Kernel.Conntrack;

/// <summary>One conntrack event from the kernel.</summary>
/// <param name="Kind">New, update or destroy.</param>
/// <param name="Entry">The entry as the event describes it (destroy events carry the final counters when accounting is on).</param>
public readonly record struct ConntrackEvent(ConntrackEventKind Kind, KernelConntrackEntry Entry);
