using System.Diagnostics;
using System.Runtime.InteropServices;
using Offload.Backends.Software;
using Offload.Datapath;
using Offload.Kernel.SlowPath;
using Offload.Packets;
using Offload.Policy;
using Offload.Switching;
using KernelNamespace = Offload.Kernel.Namespaces.NetworkNamespace;

namespace Offload.Benchmarks.Workloads;

/// <summary>
/// P3-kernel: new connections per second through a <see cref="Datapath.Datapath"/> whose slow path is the real kernel
/// (<see cref="KernelSlowPath"/> over a private namespace built from a two-VM policy): every first packet is injected
/// into the namespace, the kernel's output read back, and both directions installed. Needs root.
/// </summary>
internal static partial class KernelSlowPathSetupProbe
{
    public readonly record struct Result(double Rate, int Connections, int Flows, double Seconds, string? SkipReason);

    private const string Policy = """
        host: { name: host-a, underlay: { ip: 192.0.2.10, mac: "02:00:00:00:0a:01" }, gatewayMac: "02:00:00:00:ff:fe" }
        networks:
          - { name: blue, vni: 100, cidr: 10.1.0.0/16, tunnel: vxlan }
        ports:
          - { name: vm1, network: blue, mac: "02:00:00:01:00:01", ip: 10.1.0.1, host: host-a }
          - { name: vm2, network: blue, mac: "02:00:00:01:00:02", ip: 10.1.0.2, host: host-a }
        """;

    private const int Batch = 32;

    /// <summary>Sets up <paramref name="connections"/> UDP connections vm1 → vm2, stopping after <paramref name="maxSeconds"/>.</summary>
    public static Result Measure(int connections, double maxSeconds)
    {
        if (!OperatingSystem.IsLinux())
            return Skip("not Linux");
        if (geteuid() != 0)
            return Skip("not root: the kernel slow path needs a network namespace, devices and nftables (CAP_NET_ADMIN)");
        var load = PolicyLoader.Load(Policy);
        var policy = load.Snapshot ?? throw new InvalidOperationException(string.Join("; ", load.Errors));
        KernelNamespace? ns = null;
        KernelHostTopology? topology = null;
        try
        {
            ns = KernelNamespace.Create($"offload-bench-ks-{Environment.ProcessId}");
            topology = KernelHostTopology.Build(policy, ns, "offload-bench");
            return Run(policy, topology, connections, maxSeconds);
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or System.ComponentModel.Win32Exception or TimeoutException)
        {
            return Skip(e.Message);
        }
        finally
        {
            topology?.Dispose();
            ns?.Dispose();
        }
    }

    private static Result Run(PolicySnapshot policy, KernelHostTopology topology, int connections, double maxSeconds)
    {
        var ports = new PortRegistry();
        using var slowPath = new KernelSlowPath(topology, ports);
        using var backend = new SoftwareBackend(new SoftwareBackendOptions { Capacity = 2 * connections + 64 });
        var sink = new CountingSink();
        var options = new DatapathOptions { Conntrack = policy.ToConntrackOptions(), Offload = new OffloadPolicy { When = OffloadTrigger.FirstPacket } };
        options.Conntrack.MaxEntries = Math.Max(options.Conntrack.MaxEntries, connections + 64);
        using var datapath = new Datapath.Datapath(options, slowPath, backend, sink);
        datapath.AddUplink(PortRegistry.Uplink);
        ushort vm1 = 0;
        foreach (CompiledPort port in slowPath.Policy.Ports)
        {
            if (!port.IsLocal)
                continue;
            datapath.AddPort(port.Number, port.Config.Name, port.Network.Vni);
            if (port.Config.Name == "vm1")
                vm1 = port.Number;
        }
        var template = UdpFrames.Template(MacAddress.Parse("02:00:00:01:00:01"), MacAddress.Parse("02:00:00:00:ff:fe"),
            NetAddress.Parse("10.1.0.1"), NetAddress.Parse("10.1.0.2"));
        var frames = UdpFrames.Batch(Batch, vm1);
        var sw = Stopwatch.StartNew();
        int sent = 0;
        while (sent < connections && sw.Elapsed.TotalSeconds < maxSeconds)
        {
            int n = Math.Min(Batch, connections - sent);
            for (int i = 0; i < n; i++)
            {
                int c = sent + i;
                UdpFrames.Fill(ref frames[i], template, (ushort)(10_000 + c % 50_000), (ushort)(53 + c / 50_000));
            }
            datapath.Process(frames.AsSpan(0, n));
            sent += n;
            // The kernel answers asynchronously: wait for this batch's decisions before reusing the frames.
            long deadline = Environment.TickCount64 + 3000;
            while (sink.Frames < sent && Environment.TickCount64 < deadline)
            {
                if (datapath.Poll() == 0)
                    Thread.Yield();
            }
            if (sink.Frames < sent)
                throw new TimeoutException($"the kernel slow path decided {sink.Frames} of {sent} first packets within 3 s");
        }
        double seconds = sw.Elapsed.TotalSeconds;
        return new Result(datapath.Conntrack.Count / seconds, datapath.Conntrack.Count, backend.Count, seconds, null);
    }

    private static Result Skip(string reason) => new(0, 0, 0, 0, reason);

    private sealed class CountingSink : IFrameSink
    {
        public long Frames;

        public void OnFrame(in FrameResult result, ReadOnlySpan<byte> frame) => Frames++;
    }

    [LibraryImport("libc.so.6")]
    private static partial uint geteuid();
}
