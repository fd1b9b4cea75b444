using Offload.Datapath;
using Offload.Kernel.Conntrack;
using Offload.Kernel.Devices;

namespace Offload.Kernel.SlowPath;

/// <summary>One packet written into the kernel, waiting for the kernel to forward it (out of some TAP) or log its drop.</summary>
internal sealed class KernelPendingDecision
{
    public KernelPendingDecision(SlowPathRequest request, byte[] frame, byte[] injected, TapDevice device, long deadline)
    {
        Request = request with { Frame = frame };
        Frame = frame;
        Injected = injected;
        Device = device;
        Deadline = deadline;
        Tuple = ConntrackTuple.FromFlowKey(request.Key);
    }

    /// <summary>The request, its frame replaced by <see cref="Frame"/> (the caller's is only valid during DecideAsync).</summary>
    public SlowPathRequest Request { get; }

    /// <summary>The frame as the datapath received it (outer headers included): what a learned action is verified on.</summary>
    public byte[] Frame { get; }

    /// <summary>What is written into <see cref="Device"/> (the inner frame of a tunnel frame; MACs addressed to the host).</summary>
    public byte[] Injected { get; }

    public TapDevice Device { get; }

    /// <summary>Give up at this <see cref="TimeProvider.GetTimestamp"/>.</summary>
    public long Deadline { get; }

    /// <summary>The packet's tuple as the kernel sees it on input (before any NAT).</summary>
    public ConntrackTuple Tuple { get; }

    /// <summary>The backend the adapter chose and pins in the kernel before injecting; null when the kernel chooses.</summary>
    public KernelBackendPin? Pin { get; init; }

    public TaskCompletionSource<SlowPathDecision> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>A load balancer's backend chosen by the adapter for one connection.</summary>
internal sealed record KernelBackendPin(Offload.Switching.CompiledLoadBalancer LoadBalancer, int BackendIndex)
{
    public Offload.Policy.BackendConfig Backend => LoadBalancer.Config.Backends[BackendIndex];
}
